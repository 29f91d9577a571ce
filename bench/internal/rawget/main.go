// Command rawget is the floor of the cloud backend's process-level
// benchmark (bench/cloudcli_test.go): a fresh process that reads one object
// with the same SDK the backend uses and nothing else, or reads it and
// writes it back on the condition that it is unchanged (one GET plus one
// conditional PUT, the floor of a write).
//
//	rawget -server s3|azurite|gcs -endpoint URL -bucket B -key K [-put]
//
// Credentials come from the environment as for the backend: AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY (S3), AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY
// (Azurite); the GCS emulator needs none. It prints nothing on success.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/api/option"
)

func main() {
	server := flag.String("server", "", "s3, azurite or gcs")
	endpoint := flag.String("endpoint", "", "the server's URL")
	bucket := flag.String("bucket", "", "bucket (container)")
	key := flag.String("key", "", "object key")
	put := flag.Bool("put", false, "write the object back on the condition that it is unchanged")
	flag.Parse()
	if err := run(context.Background(), *server, *endpoint, *bucket, *key, *put); err != nil {
		fmt.Fprintln(os.Stderr, "rawget:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, endpoint, bucket, key string, put bool) error {
	switch server {
	case "s3":
		c := s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")}, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		})
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !put {
			return err
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), IfMatch: out.ETag})
		return err
	case "azurite":
		cred, err := azblob.NewSharedKeyCredential(os.Getenv("AZURE_STORAGE_ACCOUNT"), os.Getenv("AZURE_STORAGE_KEY"))
		if err != nil {
			return err
		}
		c, err := azblob.NewClientWithSharedKeyCredential(strings.TrimSuffix(endpoint, "/")+"/", cred, nil)
		if err != nil {
			return err
		}
		out, err := c.DownloadStream(ctx, bucket, key, nil)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !put {
			return err
		}
		_, err = c.UploadBuffer(ctx, bucket, key, data, &azblob.UploadBufferOptions{AccessConditions: &azblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: out.ETag}}})
		return err
	case "gcs":
		c, err := storage.NewClient(ctx, option.WithEndpoint(endpoint), option.WithoutAuthentication())
		if err != nil {
			return err
		}
		defer c.Close()
		o := c.Bucket(bucket).Object(key)
		r, err := o.NewReader(ctx)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil || !put {
			return err
		}
		w := o.If(storage.Conditions{GenerationMatch: r.Attrs.Generation}).NewWriter(ctx)
		if _, err := w.Write(data); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	return fmt.Errorf("unknown server %q (s3, azurite or gcs)", server)
}

//go:build unix

package file

import (
	"errors"
	"fmt"
	"syscall"
)

// readFD reads descriptor fd to its end (at most maxPassphrase+1 bytes)
// and closes it. It uses the descriptor only when it is a file, pipe or
// socket, so that a number the process itself uses (the runtime's epoll
// instance, say) is neither read nor closed; and never through os.NewFile,
// whose finalizer would close the number again later.
func readFD(fd int) ([]byte, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("it is not open (%v)", err)
	}
	switch uint32(st.Mode) & syscall.S_IFMT {
	case syscall.S_IFREG, syscall.S_IFIFO, syscall.S_IFSOCK:
	default:
		return nil, errors.New("it is not a file, pipe or socket")
	}
	defer syscall.Close(fd)
	if err := syscall.SetNonblock(fd, false); err != nil {
		return nil, err
	}
	var data []byte
	buf := make([]byte, 4096)
	for len(data) <= maxPassphrase {
		n, err := syscall.Read(fd, buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		data = append(data, buf[:n]...)
	}
	return data, nil
}

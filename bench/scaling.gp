# Plots bench/scale output split by operation (bench/run does the split):
#   gnuplot -e "dir='DIR'; out='scaling.png'" bench/scaling.gp
# where DIR holds none.tsv, list.tsv, get.tsv, getall.tsv and set.tsv with the
# columns n, store_bytes, op, median_ns, peak_rss_kb.
set terminal pngcairo size 1200,480 font "sans,11"
set output out
set datafile separator "\t"
set key top left
set logscale xy
set grid
set xrange [5:200000]
f(op) = dir."/".op.".tsv"
set multiplot layout 1,2 title "dstack-secrets file backend: one fresh process per operation (median of runs)"
set xlabel "secrets in the repository (40-byte values)"
set ylabel "time inside the process (ms)"
set title "Time (dashed: 2 µs per secret, linear)"
plot f("list") using 1:($4/1e6) with linespoints lw 2 title "list", \
     f("get") using 1:($4/1e6) with linespoints lw 2 title "get one", \
     f("getall") using 1:($4/1e6) with linespoints lw 2 title "read all", \
     f("set") using 1:($4/1e6) with linespoints lw 2 title "set one (re-encrypt + fsync)", \
     f("list") using 1:($1*0.002) with lines dt 2 lc "gray" title "2 us per secret (linear)"
set ylabel "peak resident memory (MiB)"
set title "Peak memory"
plot f("none") using 1:($5/1024) with linespoints lw 2 title "empty process", \
     f("list") using 1:($5/1024) with linespoints lw 2 title "list", \
     f("getall") using 1:($5/1024) with linespoints lw 2 title "read all", \
     f("set") using 1:($5/1024) with linespoints lw 2 title "set one"
unset multiplot

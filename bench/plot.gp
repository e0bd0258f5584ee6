# SPDX-License-Identifier: GPL-2.0
#
# bench/plot.gp — draw bench/results.png from the data files that
# bench/report.py --dat writes. bench/run calls it as
#
#   gnuplot -e "goals='DIR/goals.dat'; info='DIR/info.dat'; out='bench/results.png'; \
#               subtitle='...'" bench/plot.gp
#
# Top: one bar per goal, its headroom on a log scale: goal/measured for a
# "<=" goal, measured/goal for a ">=" goal, so that every bar above the
# line at 1.0 meets its goal (green) and every bar below misses it (red),
# by the factor it reaches. Bars grow from the 1.0 line.
# Bottom: the ratios without a goal, each against its reference of the same
# run (the table's "vs" column), also from 1.0 on a log scale.

if (!exists("goals")) goals = 'goals.dat'
if (!exists("info")) info = 'info.dat'
if (!exists("out")) out = 'results.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1600,1400 font "Sans,11" noenhanced
set output out
set datafile separator whitespace

stats goals using 3 nooutput
ngoals = STATS_records
glo = STATS_min < 0.5 ? STATS_min / 1.6 : 0.3
ghi = STATS_max > 3 ? STATS_max * 1.6 : 5
stats info using 3 nooutput
ninfo = STATS_records

set multiplot layout 2,1 title "refpool benchmark: every figure a ratio to one measured in the same VM run\n".subtitle font "Sans,14"

# ---- goals ------------------------------------------------------------------
set title "Goals: headroom (>= 1.0 meets the goal; log scale)" font "Sans,13"
set logscale y 10
set yrange [glo:ghi]
set ytics ("0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.3" 0.3, "0.5" 0.5, "0.7" 0.7, "1" 1, \
	"1.5" 1.5, "2" 2, "3" 3, "5" 5, "10" 10, "20" 20, "50" 50, "100" 100)
set grid ytics lc rgb "#dddddd"
set xrange [-0.6:ngoals-0.4]
set xtics rotate by 0 font "Sans,9" nomirror
set tmargin 5
set bmargin 6
set lmargin 10
set rmargin 3
set ylabel "headroom (x)"
unset key
set style fill solid 0.85 border lc rgb "#444444"
state_color(s) = s > 0 ? 0x2ca02c : (s == 0 ? 0xd62728 : 0x999999)
plot goals using 1:3:($1-0.35):($1+0.35):(1):3:(state_color($4)):xtic(2) \
	with boxxyerror lc rgb variable, \
     1 with lines lw 2 lc rgb "black" dt 2, \
     goals using 1:($3 >= 1 ? $3*1.12 : $3/1.16):5 with labels font "Sans,10,Bold"

# ---- other ratios ---------------------------------------------------------------
set title "Other ratios (no goal; log scale): as labelled, each against a figure of the same run" font "Sans,13"
set autoscale y
set yrange [*:*]
set ytics auto
set xrange [-0.6:ninfo-0.4]
set xtics rotate by 30 right font "Sans,10"
set bmargin 12
set ylabel "ratio (x)"
plot info using 1:3:($1-0.35):($1+0.35):(1):3:xtic(2) \
	with boxxyerror lc rgb "#4a78b5", \
     1 with lines lw 2 lc rgb "black" dt 2, \
     info using 1:($3 >= 1 ? $3*1.25 : $3/1.3):4 with labels font "Sans,9"

unset multiplot

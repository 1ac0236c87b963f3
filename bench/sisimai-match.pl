#!/usr/bin/perl
# Times Sisimai->match (libsisimai-perl) over a file of SMTP replies, one per line,
# repeating the file for at least SECONDS. Prints replies per second.
use strict;
use warnings;
use Sisimai;
use Time::HiRes qw(time);
use FindBin;
require "$FindBin::Bin/cpu-time.pl";

my ($file, $seconds) = @ARGV;
$seconds ||= 3;
open my $fh, '<', $file or die "cannot read $file: $!";
my @lines = <$fh>;
chomp @lines;
Sisimai->match($_) for @lines;    # warm up (loads every reason module)
my ($n, $start, $cpu0) = (0, time, cpu_time());
while (time - $start < $seconds) {
    Sisimai->match($_) for @lines;
    $n += scalar @lines;
}
my $secs = time - $start;
my $cpu1 = cpu_time();
my $cpu = on_core($cpu0, $cpu1, $secs);
printf "sisimai match: %d distinct replies, %d classified in %.2f s wall, %.2f s on a core (%.0f%% of the time): %.0f replies/s on one core\n",
    scalar @lines, $n, $secs, $cpu, 100 * $cpu / $secs, $n / $cpu;

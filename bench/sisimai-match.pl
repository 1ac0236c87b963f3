#!/usr/bin/perl
# Times Sisimai->match (libsisimai-perl) over a file of SMTP replies, one per line,
# repeating the file for at least SECONDS. Prints replies per second.
use strict;
use warnings;
use Sisimai;
use Time::HiRes qw(time);

my ($file, $seconds) = @ARGV;
$seconds ||= 3;
open my $fh, '<', $file or die "cannot read $file: $!";
my @lines = <$fh>;
chomp @lines;
Sisimai->match($_) for @lines;    # warm up (loads every reason module)
# On a shared machine the process is not always on a core; the time it was (Linux
# schedstat, nanoseconds) is what one core's throughput is measured against.
sub cpu_time {
    open my $s, '<', '/proc/thread-self/schedstat' or return undef;
    my ($ns) = split ' ', scalar <$s>;
    return $ns / 1e9;
}
my ($n, $start, $cpu0) = (0, time, cpu_time());
while (time - $start < $seconds) {
    Sisimai->match($_) for @lines;
    $n += scalar @lines;
}
my $secs = time - $start;
my $cpu1 = cpu_time();
my $cpu = (defined $cpu0 && defined $cpu1 && $cpu1 > $cpu0) ? $cpu1 - $cpu0 : $secs;
printf "sisimai match: %d distinct replies, %d classified in %.2f s wall, %.2f s on a core (%.0f%% of the time): %.0f replies/s on one core\n",
    scalar @lines, $n, $secs, $cpu, 100 * $cpu / $secs, $n / $cpu;

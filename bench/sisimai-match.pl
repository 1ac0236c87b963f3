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
my ($n, $start) = (0, time);
while (time - $start < $seconds) {
    Sisimai->match($_) for @lines;
    $n += scalar @lines;
}
my $secs = time - $start;
printf "sisimai match: %d distinct replies, %d classified in %.2f s: %.0f replies/s\n", scalar @lines, $n, $secs, $n / $secs;

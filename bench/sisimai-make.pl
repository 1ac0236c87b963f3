#!/usr/bin/perl
# Times Perl Sisimai (libsisimai-perl) decoding every message of a maildir, repeating
# the directory for at least SECONDS. Prints messages per second.
use strict;
use warnings;
use Sisimai;
use Time::HiRes qw(time);
use FindBin;
require "$FindBin::Bin/cpu-time.pl";

my ($dir, $seconds) = @ARGV;
$seconds ||= 3;
opendir(my $dh, $dir) or die "cannot read $dir: $!";
my @files = grep { -f "$dir/$_" } readdir $dh;
closedir $dh;
# Sisimai->make reads a mailbox path or a reference to the message text; feed it the
# text, read once, so no disk IO is timed (as on the Rebound side).
my @texts;
for my $f (sort @files) {
    open my $fh, '<', "$dir/$f" or next;
    local $/;
    push @texts, scalar <$fh>;
}
my $recipients = 0;
for my $t (@texts) { my $v = Sisimai->make(\$t, delivered => 1) || []; $recipients += scalar @$v }
my ($n, $start, $cpu0) = (0, time, cpu_time());
while (time - $start < $seconds) {
    Sisimai->make(\$_, delivered => 1) for @texts;
    $n += scalar @texts;
}
my $secs = time - $start;
my $cpu1 = cpu_time();
my $cpu = on_core($cpu0, $cpu1, $secs);
printf "sisimai make: %d messages (%d recipients), %d decoded in %.2f s wall, %.2f s on a core (%.0f%% of the time): %.0f messages/s on one core\n",
    scalar @texts, $recipients, $n, $secs, $cpu, 100 * $cpu / $secs, $n / $cpu;

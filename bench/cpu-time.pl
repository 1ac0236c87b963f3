# Shared by sisimai-match.pl and sisimai-make.pl: on a shared machine the process is not
# always on a core; the time it was (Linux schedstat, nanoseconds) is what one core's
# throughput is measured against.
use strict;
use warnings;

sub cpu_time {
    open my $s, '<', '/proc/thread-self/schedstat' or return undef;
    my ($ns) = split ' ', scalar <$s>;
    return $ns / 1e9;
}

# The seconds on a core between two cpu_time readings, or the wall seconds where the
# readings are missing.
sub on_core {
    my ($cpu0, $cpu1, $wall) = @_;
    return (defined $cpu0 && defined $cpu1 && $cpu1 > $cpu0) ? $cpu1 - $cpu0 : $wall;
}

1;

"""step_replay.py's CONVERT for a capture of the script it replays: the
arguments as captured; the reply's leases after the head and the cookies
(the first lease's id, then one JSON per lease: frontier.lua)."""


def argv(a):
    return a


def leases(rep):
    nc = int(rep[9])
    return max(0, len(rep) - 10 - 2 * nc - 1)

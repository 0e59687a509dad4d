"""step_replay.py's CONVERT from a capture of the step before 2026-12-02
morning (adds as bucket, member, host, RANK JSON each; the answers as host,
answers pairs) to the current script's arguments (adds by host and rank with
the seen keys; the answers in one string and an overload flag)."""


def argv(a):
    P = a[0]
    out = a[:14]
    i = 14
    n = int(a[i]); i += 1
    groups, at, fps = [], {}, set()
    for _ in range(n):
        b, m, h, rj = a[i:i + 4]; i += 4
        if b:
            if (b, m) in fps: continue
            fps.add((b, m))
        rank, json = rj[:13], rj[13:]
        k = (h, rank)
        if k not in at:
            at[k] = len(groups); groups.append((h, rank, []))
        groups[at[k]][2].append((P + b'seen:' + b if b else b'', m, json))
    out.append(str(len(groups)).encode())
    for h, rank, l in groups:
        out += [h, rank, str(len(l)).encode()]
        for e in l: out += list(e)
    n = int(a[i]); i += 1
    load, over = b'', False
    for _ in range(n):
        h, ans = a[i:i + 2]; i += 2
        over |= any(x[:1] == b'o' for x in ans.split())
        load += h + b' ' + ans + b'\n'
    out += [b'1' if over else b'0', load]
    out += a[i:]
    return out
def leases(rep):
    nc = int(rep[9]); rest = len(rep) - 10 - 2 * nc
    return max(0, rest - 1)

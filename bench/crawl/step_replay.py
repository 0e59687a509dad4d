#!/usr/bin/env python3
"""step_replay.py PORT SCRIPT.lua CAPTURE CONVERT: replays the EVALSHA calls of a
`redis-cli MONITOR` log (one crawl's frontier steps) into the redis-server at PORT
with SCRIPT.lua (loaded here), in order. CONVERT: a module next to this file with
argv(list of bytes) -> the script's ARGV and leases(reply) -> leases in a reply.
See step_replay.sh."""
import importlib, os, socket, sys

def parse_monitor(line):
    # 1234.5 [0 127.0.0.1:1] "A" "B" ...
    i = line.find('] ')
    if i < 0:
        return None, None
    src = line[line.find('[') + 1:i]
    s = line[i + 2:]
    toks, j, n = [], 0, len(s)
    while j < n:
        if s[j] == '"':
            j += 1
            buf = bytearray()
            while s[j] != '"':
                c = s[j]
                if c == '\\':
                    d = s[j + 1]
                    if d == 'x':
                        buf.append(int(s[j + 2:j + 4], 16)); j += 4; continue
                    buf += {'n': b'\n', 'r': b'\r', 't': b'\t', 'a': b'\a', 'b': b'\b', '\\': b'\\', '"': b'"'}[d]
                    j += 2
                    continue
                buf += c.encode('latin-1')
                j += 1
            toks.append(bytes(buf))
            j += 1
        else:
            j += 1
    return src, toks

def enc(args):
    out = [b'*%d\r\n' % len(args)]
    for a in args:
        out.append(b'$%d\r\n' % len(a)); out.append(a); out.append(b'\r\n')
    return b''.join(out)

class R:
    def __init__(s, port):
        s.sock = socket.create_connection(('127.0.0.1', port))
        s.f = s.sock.makefile('rb')
    def cmd(s, *args):
        s.sock.sendall(enc([a if isinstance(a, bytes) else str(a).encode() for a in args]))
        return s.read()
    def read(s):
        l = s.f.readline()
        t, rest = l[:1], l[1:-2]
        if t == b'+': return rest
        if t == b'-': raise RuntimeError(rest.decode())
        if t == b':': return int(rest)
        if t == b'$':
            n = int(rest)
            if n < 0: return None
            d = s.f.read(n + 2); return d[:-2]
        if t == b'*':
            n = int(rest)
            if n < 0: return None
            return [s.read() for _ in range(n)]
        raise RuntimeError('bad reply %r' % l)

def main():
    port, script, cap = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    mod = importlib.import_module(sys.argv[4])
    tr = mod.argv
    r = R(port)
    sha = r.cmd('SCRIPT', 'LOAD', open(script, 'rb').read())
    steps = leases = 0
    for line in open(cap, encoding='latin-1'):
        src, toks = parse_monitor(line.rstrip('\n'))
        if not toks or toks[0].upper() != b'EVALSHA' or src.endswith('lua'):
            continue
        nk = int(toks[2])
        keys, argv = toks[3:3 + nk], toks[3 + nk:]
        argv = tr(argv)
        rep = r.cmd(b'EVALSHA', sha, str(nk).encode(), *keys, *argv)
        steps += 1
        leases += mod.leases(rep)
    print('steps', steps, 'leases', leases, 'stats', r.cmd('HGETALL', b'solo:{bench1}:stats'))

main()

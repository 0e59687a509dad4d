#!/usr/bin/env python3
"""Write a static site of N interlinked HTML pages (about 2 KB each) to DIR.

    gen_site.py DIR N [--hosts H --base TEMPLATE]

Page 0 is DIR/index.html; page i > 0 is DIR/p/<i // 1000>/<i>.html.
Page i links to 2i+1 and 2i+2 (a binary tree, so every page is reachable from
index.html) and to (i+1), (7i+3) and (31i+17) mod N, as root-relative hrefs. Deterministic: the same N gives the same bytes.

With --hosts H the site is spread over H hosts that all serve DIR: page i
belongs to host i mod H, and every link is absolute, TEMPLATE with `{h}`
replaced by the host's number 1..H (e.g. `http://127.0.0.{h}:8080`), so a
crawler fetches page i from its own host only. `gen_site.py --starts N H
TEMPLATE` prints the first page of each host (pages 0..H-1), one per line.
"""
import os
import sys


def href(j: int) -> str:
    return "/index.html" if j == 0 else f"/p/{j // 1000}/{j}.html"


def url(j: int, hosts: int, base: str) -> str:
    if hosts == 0:
        return href(j)
    return base.replace("{h}", str(j % hosts + 1)) + href(j)


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--starts":
        n, hosts, base = int(args[1]), int(args[2]), args[3]
        for j in range(min(n, hosts)):
            print(url(j, hosts, base))
        return
    root, n = args[0], int(args[1])
    hosts, base = 0, ""
    rest = args[2:]
    while rest:
        if rest[0] == "--hosts":
            hosts = int(rest[1])
        elif rest[0] == "--base":
            base = rest[1]
        else:
            sys.exit(f"unknown argument {rest[0]}")
        rest = rest[2:]
    if hosts and "{h}" not in base:
        sys.exit("--hosts needs --base with {h}")
    for d in range((n - 1) // 1000 + 1):
        os.makedirs(os.path.join(root, "p", str(d)), exist_ok=True)
    filler = ("<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
              "eiusmod tempor incididunt ut labore et dolore magna aliqua. " * 3 + "</p>\n")
    for i in range(n):
        links = []
        seen = set()
        for j in (2 * i + 1, 2 * i + 2, (i + 1) % n, (7 * i + 3) % n, (31 * i + 17) % n):
            if j < n and j != i and j not in seen:
                seen.add(j)
                links.append(f'<li><a href="{url(j, hosts, base)}">page {j}</a></li>')
        body = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Page {i}</title>"
                f"</head>\n<body>\n<h1>Page {i}</h1>\n<ul>\n" + "\n".join(links) + "\n</ul>\n"
                + filler * 4 + "</body></html>\n")
        path = os.path.join(root, "index.html") if i == 0 else \
            os.path.join(root, "p", str(i // 1000), f"{i}.html")
        with open(path, "w") as f:
            f.write(body)


if __name__ == "__main__":
    main()

-- solo-crawl's shared frontier: one atomic step of one worker.
-- Key layout (P = ARGV[1] = "solo:{crawl-id}:", one hash slot per crawl):
--   P..seen:B      SET   the seen set, in 65536 buckets B (the top 16 bits
--                        of the 64-bit fingerprint, hex); members are the
--                        low 48 bits as integers, so each bucket is an
--                        intset of 8 bytes per URL (up to
--                        set-max-intset-entries, 512 by default: 33 M URLs)
--   P..layout      STRING  "3": the key layout below (a crawl started by
--                        another layout is refused, not mixed up; one of
--                        layout 2, whose host states lack FIRST, is taken
--                        over: its older workers then stop)
--   P..q:HOST:RANK LIST  queued requests of HOST of one RANK (13 hex
--                        digits: highest priority, then shallowest sorts
--                        first), JSON, oldest first
--   P..r:HOST      ZSET  the RANKs of HOST's non-empty lists (all scored
--                        0, so in RANK order); a rank whose list ran dry
--                        may stay until a pop finds it empty
--   P..host        HASH  HOST -> "LEASED QUEUED NEXT CRAWLDELAY RULES FIRST":
--                        its requests leased now, queued (in its lists),
--                        the ms its delay ends, its Crawl-delay in ms,
--                        1 once a worker knows its robots.txt (until
--                        then, with robots obeyed, one lease at a time:
--                        its Crawl-delay may be coming), and a RANK no
--                        non-empty list of it is below (its list may have
--                        run dry), or nothing when not known: a lease
--                        pops from it without asking P..r:HOST; absent:
--                        all 0
--   P..ready       ZSET  HOST -> ms it may start again; holds exactly the
--                        hosts with queued requests and a free slot
--   P..shed        HASH  HOST -> "LIMIT ANSWERS BURST": the overload
--                        backoff's state (absent: per_host, nothing shed)
--   P..autodelay   HASH  HOST -> the autothrottle's pause in ms
--   P..retry       ZSET  "ID\nHOST\nRANK JSON" -> ms it is due: requests
--                        to try again (counted as queued), first of
--                        their rank when due
--   P..leases:W    HASH  lease id -> HOST "\n" RANK JSON, the leases of
--                        worker W (given back: first of their rank again)
--   P..workers     ZSET  W -> ms its leases expire (heartbeat + lease time);
--                        a worker that finds itself missing here had its
--                        leases taken back (it was silent too long)
--   P..gen         HASH  W -> the steps worker W took (each step adds
--                        one, the reply says the sum): a sum not above
--                        the last one W saw means Redis went back to an
--                        earlier state (an RDB snapshot, a replica that
--                        lagged) and lost what came since
--   P..stats       HASH  queued, leased, dispatched, seq, pages, written
--                        (page records written: what max_pages counts),
--                        errors, ..., started_ms (the first step),
--                        ended_ms (the first step that found the crawl
--                        done; gone again if work comes after it); a
--                        crawl with a layout but no started_ms, or a
--                        count below 0, lost them: refused, LOST)
--   P..seedfail    LIST  "URL: why" of start URLs that failed (the first
--                        100; stats seeds_failed counts them all,
--                        seeds_ok those fetched): the seeder's exit code
--   P..hungry      ZSET  W -> ms it last asked for work holding none
--   P..wake:W      LIST  a token: worker W, hungry, has news (BLPOP)
--   P..cookies     HASH  cookie key -> W "\n" STATE: the latest state of
--                        each cookie of the crawl's jars (key: its
--                        identity, ["jar", domain, path, name] as JSON;
--                        STATE: JSON, "" once deleted), set by worker W;
--                        one field per cookie ever set, not per change
--   P..robots      HASH  HOST -> "STATUS SECS\nBODY": its robots.txt, stored
--                        by the worker that fetched it (redis_link.rs)
--   P..robots-claim:HOST  STRING  W: worker W fetches HOST's robots.txt
--                        (expires after the fetch timeout + 5 s)
--   P..robots-claims:W  SET  the HOSTs worker W claims: the step that
--                        takes W for dead drops those claims with its
--                        leases (the others fetch them at once)
--   P..cookieseq   ZSET  cookie key -> the sequence number of its last
--                        change (from stats cookie_seq): a worker asks
--                        for the changes after its cursor
-- ARGV: P, worker, per_host, delay_ms, lease_ms, max_pages (0: none),
-- want, backoff (1: the overload backoff is on), autothrottle target
-- concurrency ("": off), its start and max delay in ms, jitter (1: each
-- pause 0.5-1.5x delay_ms), robots (1: robots.txt is obeyed), joined
-- (1: this worker's steps found the crawl before, so a crawl with no
-- keys was lost: Redis restarted without persistence, or flushed), then
-- sections, each a count and its entries:
--   adds     (host, RANK, m, then m entries (key, member, JSON)): new
--            requests by host and rank, each in order; key: the seen
--            bucket P..seen:B (B as above), or "" for dont_filter; a
--            URL at most once a step (the worker drops its repeats: the
--            SADD of the first would refuse them), so the groups' order
--            does not matter
-- then load, not a section: overload (1: some answer below is an o) and
-- one string, "HOST ANSWERS\n" for each host that answered, ANSWERS
-- "KLATENCY:STATUS ..." in order, K = o (the host shed load), a
-- (answered), n (failed) (read only when some host sheds load, with the
-- autothrottle, or with an overload in it); then sections again:
--   acks     (id)                        pages done, their records written
--   drops    (id)                        leases ended without a page
--   releases (id)                                    leases given back
--   retries  (id, host, wait_ms, RANK JSON)  leases ended, to try later
--   hosts    (host, crawl_delay_ms, pause_ms)        politeness news
--            (sent once a worker knows the host's robots.txt, too)
--   keep     (id)  with keep_flag: requeue my leases not in this list
-- then stats deltas: pages, errors, items, retries, seeds_ok; then the
-- start URLs that failed (a count, each "URL: why"); then bye (1: leaving);
-- then cookie_cursor (the last cookie change this worker got) and a
-- section cookies (key, state or "" if deleted): this worker's cookie
-- changes since its last step, in order.
-- Returns {done, queued, leased, due (ms until the first host's delay
-- ends, if this step leased nothing to a worker that wants work; else
-- 0), gen (this worker's steps, P..gen), reclaimed (1: this worker's
-- leases had been taken back before this step), lost (requests counted
-- as queued that were gone from Redis: their keys deleted or evicted;
-- the crawl ends without them), added (of this step's adds, those
-- queued: not seen before, or dont_filter), cursor, n, key, state, ... (n cookies
-- other workers changed after cookie_cursor, latest state each), then,
-- if this step leased any, the first lease's id and each lease's JSON
-- (the ids run on by one from the first)}: the worker puts the cookies into its
-- jars before it starts the leases, and a request queued after a cookie
-- change (the login's next page) comes in the same step as the change or
-- a later one, so no worker starts it without the cookie.
-- Cost: a step reads the state of every host it touches with one HMGET
-- and writes it back with one HSET, ends its leases with one HMGET and one
-- HDEL, takes new ones with one HSET and moves hosts in and out of READY
-- with one ZADD and one ZREM; only the seen set (one SADD per new URL) and
-- the queues (one push per host and rank and step, one LPOP per host
-- leased, and a ZRANGE when the host's FIRST rank is not known: after a
-- list ran dry) are touched per URL or host. (One sorted set per
-- host, members prefixed by rank and a sequence number, was simpler but
-- cost ~30 % more Redis CPU per page and 291 against 158 bytes per
-- queued request: docs/distributed.md.) Cookies cost one ZRANGEBYSCORE
-- per step while no cookie changes (an empty or unchanged P..cookieseq),
-- and a ZADD, an HSET and an HMGET in a step with changes.
local P, W = ARGV[1], ARGV[2]
local per_host = tonumber(ARGV[3])
local delay = tonumber(ARGV[4])
local lease_ms = tonumber(ARGV[5])
local max_pages = tonumber(ARGV[6])
local want = tonumber(ARGV[7])
local backoff = ARGV[8] == '1'
local at_target = tonumber(ARGV[9])
local at_start, at_max = tonumber(ARGV[10]), tonumber(ARGV[11])
local jitter = ARGV[12] == '1'
local robots = ARGV[13] == '1'
local joined = ARGV[14] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local SEEN, READY, HOST = P .. 'seen', P .. 'ready', P .. 'host'
local STATS, WORKERS = P .. 'stats', P .. 'workers'
local SHED, AUTO, RETRY = P .. 'shed', P .. 'autodelay', P .. 'retry'
-- Integers as Redis arguments: a Lua number given to redis.call is
-- formatted with %.17g (printf of a double), a string goes as is.
local fmt = {}
local function int(n)
  local v = fmt[n]
  if not v then v = string.format('%d', n); fmt[n] = v end
  return v
end
-- Integers from strings (0 for none): tonumber parses with strtod, so
-- the (few distinct) values of a step are parsed once.
local nums = {}
local function num(s)
  if not s then return 0 end
  local v = nums[s]
  if not v then v = tonumber(s) or 0; nums[s] = v end
  return v
end
local function q(h, rank) return P .. 'q:' .. h .. ':' .. rank end
local function ranks(h) return P .. 'r:' .. h end
local function leases(w) return P .. 'leases:' .. w end
-- The layout: a crawl that another version of solo-crawl started (its
-- keys are shaped otherwise) is refused, not mixed up.
local LAYOUT = '3'
local layout = redis.call('GET', P .. 'layout')
if layout == '2' then
  -- Layout 2's host states are layout 3's with FIRST not known.
  redis.call('SET', P .. 'layout', LAYOUT)
  layout = LAYOUT
end
if not layout and joined then
  return redis.error_reply('LOST the crawl is gone from this Redis (restarted without persistence, flushed, its keys deleted, or evicted: maxmemory-policy must be noeviction) while this worker was on it: its queue, seen set and progress are lost; the pages written so far are in the outputs. Start it again (with a new --crawl-id to keep apart what the outputs have), and turn on persistence (appendonly yes) for crawls that must survive a restart')
end
local new_crawl = not layout
if not layout then
  if redis.call('EXISTS', STATS) == 1 then layout = '1' else redis.call('SET', P .. 'layout', LAYOUT); layout = LAYOUT end
end
if layout ~= LAYOUT then
  return redis.error_reply('LAYOUT this crawl was started by another version of solo-crawl (its Redis keys are laid out for version ' .. layout .. ' of the frontier, this worker uses version ' .. LAYOUT .. '; if no other version ran it, some of its keys were deleted or evicted): finish it with that version, or start a new --crawl-id')
end
-- The counters: the first step of a crawl creates STATS (started_ms)
-- with its layout, so a crawl with a layout but no started_ms lost them
-- (deleted, or evicted), and counters below 0 were recreated from 0 by
-- HINCRBY after that. Without them no step can tell when the crawl is
-- done (it would go on for good): refused, before this step writes,
-- like a crawl whose layout is gone, so every worker stops.
local counters = redis.call('HMGET', STATS, 'started_ms', 'queued', 'leased')
local what
if not new_crawl and not counters[1] then
  what = 'are gone from this Redis (deleted, or evicted: maxmemory-policy must be noeviction)'
elseif (tonumber(counters[2]) or 0) < 0 or (tonumber(counters[3]) or 0) < 0 then
  what = 'are below 0 (queued ' .. (counters[2] or '0') .. ', leased ' .. (counters[3] or '0') .. '): they were deleted or evicted and made again from 0'
end
if what then
  return redis.error_reply('LOST the crawl\'s counters (' .. STATS .. ': what is queued and in flight) ' .. what .. ', so no worker can tell when the crawl is done: every worker stops; the pages written so far are in the outputs. Start it again with a new --crawl-id (`solo-crawl delete` removes this one)')
end
if not counters[1] then redis.call('HSET', STATS, 'started_ms', now) end
if max_pages > 0 then redis.call('HSETNX', STATS, 'max_pages', max_pages) end
local d_queued, d_leased, d_seen = 0, 0, 0
local added = 0

-- CMD KEY followed by the items of list, in chunks (unpack has a stack
-- limit); the replies' items when they are arrays, else the last reply.
local CHUNK = 1000
local function batched(cmd, key, list)
  local n = #list
  if n == 0 then return nil end
  if n <= CHUNK then return redis.call(cmd, key, unpack(list)) end
  local all, last = {}, nil
  for s = 1, #list, CHUNK do
    last = redis.call(cmd, key, unpack(list, s, math.min(s + CHUNK - 1, #list)))
    if type(last) == 'table' then
      for _, v in ipairs(last) do all[#all + 1] = v end
    end
  end
  if type(last) == 'table' then return all end
  return last
end

-- Host state, read once per step and written back once at its end:
-- {leased, queued, next, crawl_delay, rules} (see P..host above).
local LEASED, QUEUED, NEXT, CDELAY, RULES, FIRST = 1, 2, 3, 4, 5, 6
local hs = {}
local dirty = {}   -- HOST -> true: its state changed
local touched = {} -- HOST -> true: its place in READY may have changed
-- Reads the state of the hosts in list that this step has not read yet.
local function load_hosts(list)
  local need, asked = {}, {}
  for _, h in ipairs(list) do
    if not hs[h] and not asked[h] then
      asked[h] = true
      need[#need + 1] = h
    end
  end
  if #need == 0 then return end
  local vals = batched('HMGET', HOST, need)
  for j, h in ipairs(need) do
    local a, b, c, d, e, f = string.match(vals[j] or '', '^(%d+) (%d+) (%d+) (%d+) (%d+) ?(%x*)$')
    hs[h] = {num(a), num(b), num(c), num(d), num(e), f ~= '' and f or nil}
  end
end
local function host(h)
  if not hs[h] then load_hosts({h}) end
  return hs[h]
end
local function changed(h) dirty[h] = true; touched[h] = true end

-- Some host sheds load (its state is in SHED): while none does, which is
-- the common case, no host's state is read.
local any_shed = redis.call('EXISTS', SHED) == 1
-- The overload backoff's state of h: limit, answers since it last grew,
-- answers still due from the burst that was in flight at the last cut.
local function shed_state(h)
  if not any_shed then return per_host, 0, 0 end
  local v = redis.call('HGET', SHED, h)
  if not v then return per_host, 0, 0 end
  local l, a, b = string.match(v, '^(%d+) (%d+) (%d+)$')
  return math.min(per_host, tonumber(l) or per_host), tonumber(a) or 0, tonumber(b) or 0
end
-- Requests h may have leased now: per_host, less while it sheds load,
-- and one while no worker knows its robots.txt (with robots obeyed).
local function limit(h)
  local l = shed_state(h)
  if robots and host(h)[RULES] == 0 then l = math.min(l, 1) end
  return l
end
-- The autothrottle's pause for h (a new host starts at at_start).
local function auto_delay(h)
  local v = redis.call('HGET', AUTO, h)
  return v and tonumber(v) or math.max(at_start, delay)
end
-- The autothrottle's next pause after an answer that took lat ms with
-- status st (0: the fetch failed): AutoThrottle::next_pause in throttle.rs.
local function next_pause(cur, lat, st)
  local mx = math.max(at_max, delay)
  local nxt
  if st == 429 or st == 503 then
    nxt = math.max(cur * 2, at_start)
  else
    local target = mx
    if at_target > 0 then target = math.min(lat / at_target, mx) end
    nxt = math.floor(cur / 2 + target / 2)
    if not (st >= 200 and st < 400) then nxt = math.max(nxt, cur) end
  end
  return math.min(math.max(nxt, delay), mx)
end
-- The pause between two leases of h: --delay (jittered like one
-- process's: 0.5-1.5x), never below the Crawl-delay or the
-- autothrottle's pause.
local function host_delay(h)
  local d = delay
  if jitter and d > 0 then d = math.floor(d * (0.5 + math.random())) end
  d = math.max(d, host(h)[CDELAY])
  if at_target then d = math.max(d, auto_delay(h)) end
  return d
end
-- Moves the hosts in set in or out of READY: in iff it has queued
-- requests and a free slot.
local function offer(set)
  local add, rem = {}, {}
  for h in pairs(set) do
    local s = host(h)
    if s[QUEUED] > 0 and s[LEASED] < limit(h) then
      add[#add + 1] = int(s[NEXT])
      add[#add + 1] = h
    else
      rem[#rem + 1] = h
    end
  end
  batched('ZADD', READY, add)
  batched('ZREM', READY, rem)
end

-- Requests (JSON) to queue, per host and rank: at the front (leases
-- given back, retries now due) or the back (new), pushed at the end of
-- phase one. The list of h's RANK requests for one side.
local pushes = {}
local function pushing(h, rank, front)
  local by_rank = pushes[h]
  if not by_rank then by_rank = {}; pushes[h] = by_rank end
  local l = by_rank[rank]
  if not l then l = {{}, {}}; by_rank[rank] = l end
  return l[front and 1 or 2]
end
-- Queues v (RANK JSON: a lease or retry as stored) at the front of its
-- host h's queue, from byte at on.
local function push_back(h, v, at)
  local side = pushing(h, string.sub(v, at, at + 12), true)
  side[#side + 1] = string.sub(v, at + 13)
end
-- Ends the leases ids[1..] of worker w, those at indices from..to going
-- back to their queues; a lease already gone (reclaimed) is skipped.
-- Returns id -> true for each ended.
local function end_leases(w, ids, from, to)
  local ended = {}
  if #ids == 0 then return ended end
  local key = leases(w)
  local vals = batched('HMGET', key, ids)
  -- of each lease found, once: its id, host, and where its request
  -- (RANK JSON) starts in its value if it goes back (else false)
  local del, hosts, vs, ats = {}, {}, {}, {}
  for j, id in ipairs(ids) do
    local v = vals[j]
    if v and not ended[id] then
      ended[id] = true
      local nl = string.find(v, '\n', 1, true)
      local k = #del + 1
      del[k] = id
      hosts[k] = string.sub(v, 1, nl - 1)
      if j >= from and j <= to then vs[k] = v; ats[k] = nl + 1 end
    end
  end
  load_hosts(hosts)
  for k, h in ipairs(hosts) do
    local s = hs[h]
    s[LEASED] = math.max(0, s[LEASED] - 1)
    changed(h)
    if vs[k] then
      push_back(h, vs[k], ats[k])
      d_queued = d_queued + 1
    end
  end
  d_leased = d_leased - #del
  batched('HDEL', key, del)
  return ended
end
-- Gives back every lease of w not in keep.
local function requeue_all(w, keep)
  local all = redis.call('HGETALL', leases(w))
  local ids = {}
  for j = 1, #all, 2 do
    if not (keep and keep[all[j]]) then ids[#ids + 1] = all[j] end
  end
  end_leases(w, ids, 1, #ids)
end

-- Leases this worker held when the step began (before its acks).
local mine = redis.call('HLEN', leases(W))
local i = 15
-- adds, by host and rank
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local h, rank, m = ARGV[i], ARGV[i + 1], num(ARGV[i + 2])
  i = i + 3
  local side
  for _ = 1, m do
    local b = ARGV[i]
    local new = b == ''
    if not new and redis.call('SADD', b, ARGV[i + 1]) == 1 then
      new = true
      d_seen = d_seen + 1
    end
    if new then
      if not side then side = pushing(h, rank, false) end
      side[#side + 1] = ARGV[i + 2]
      added = added + 1
    end
    i = i + 3
  end
end
d_queued = d_queued + added
-- load: answers of hosts, in the order the worker had them; the overload
-- backoff (HostLimit in throttle.rs, one state for the whole crawl: every
-- worker's answers grow it back, the first overload of a burst cuts it)
-- and the autothrottle's pause.
local overload, load = ARGV[i] == '1', ARGV[i + 1]
i = i + 2
-- Only an overload ('o') changes a host that sheds nothing, and only
-- the autothrottle needs every answer: while none sheds, the common
-- case, the answers are not read.
for h, answers in string.gmatch((any_shed or at_target or overload) and load or '', '([^ \n]+) ([^\n]*)') do
  if any_shed or at_target or string.find(answers, 'o', 1, true) then
    local l, a, b = shed_state(h)
    local l0, a0, b0 = l, a, b
    local d = at_target and auto_delay(h)
    local d0 = d
    for kind, lat, st in string.gmatch(answers, '(%a)(%d+):(%d+)') do
      lat, st = tonumber(lat), tonumber(st)
      if backoff then
        local in_burst = b > 0
        if b > 0 then b = b - 1 end
        if kind == 'o' then
          if not in_burst then
            local inf = host(h)[LEASED]
            l = math.max(1, math.floor(math.min(math.max(inf, 1), l) / 2))
            a = 0
            b = math.max(0, inf - 1)
          end
        elseif kind == 'a' and l < per_host then
          a = a + 1
          if a * 2 >= l then l = l + 1; a = 0 end
        end
      end
      if d then
        d = next_pause(d, lat, st)
        if st == 429 or st == 503 then
          local s = host(h)
          if now + d > s[NEXT] then
            s[NEXT] = now + d
            changed(h)
          end
        end
      end
    end
    if l0 == per_host and a0 == 0 and b0 == 0 and l == l0 and a == a0 and b == b0 then
      -- nothing shed, nothing changed (the common case: no write)
    elseif l >= per_host and b == 0 then
      redis.call('HDEL', SHED, h)
    else
      redis.call('HSET', SHED, h, l .. ' ' .. a .. ' ' .. b)
      any_shed = true
    end
    if l ~= l0 then
      redis.call('HINCRBY', STATS, l < l0 and 'shed_cuts' or 'shed_grown', 1)
      touched[h] = true
    end
    if d and d ~= d0 then redis.call('HSET', AUTO, h, d); touched[h] = true end
  end
end
-- acks, drops, releases, then retries: one batch of leases to end; a
-- page counts as written when its lease ends (once, even if a lost reply
-- makes the worker send it again)
-- (ends[1..n_acked] are acks, ends[from..to] releases)
local ends, tries = {}, {}
local n_acked, from
for k = 1, 3 do
  n = tonumber(ARGV[i]); i = i + 1
  if k == 3 then from = #ends + 1 end
  for _ = 1, n do
    ends[#ends + 1] = ARGV[i]
    i = i + 1
  end
  if k == 1 then n_acked = #ends end
end
local to = #ends
-- retries: the request waits in RETRY, not in a lease, so that the
-- host's limit (cut while it sheds load) holds for retries too
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local id, h, wait, json = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  i = i + 4
  ends[#ends + 1] = id
  tries[#tries + 1] = {id, h, wait, json}
end
local ended = end_leases(W, ends, from, to)
local d_written = 0
for j = 1, n_acked do
  local id = ends[j]
  if ended[id] then d_written = d_written + 1; ended[id] = nil end
end
if d_written > 0 then redis.call('HINCRBY', STATS, 'written', d_written) end
local waits = {}
for _, r in ipairs(tries) do
  if ended[r[1]] then
    ended[r[1]] = nil
    waits[#waits + 1] = now + r[3]
    waits[#waits + 1] = r[1] .. '\n' .. r[2] .. '\n' .. r[4]
    d_queued = d_queued + 1
  end
end
batched('ZADD', RETRY, waits)
-- retries now due go first in their hosts' queues
local due = redis.call('ZRANGEBYSCORE', RETRY, '-inf', now, 'LIMIT', 0, 256)
batched('ZREM', RETRY, due)
for _, v in ipairs(due) do
  local a = string.find(v, '\n', 1, true)
  local b = string.find(v, '\n', a + 1, true)
  push_back(string.sub(v, a + 1, b - 1), v, b + 1)
end
-- hosts: Crawl-delay, pauses (Retry-After, 429/503)
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local h, cd, pause = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  i = i + 3
  local s = host(h)
  if cd > 0 then
    -- The first news of its rules: the lease that fetched them starts
    -- its page now, so the next waits a whole Crawl-delay from here.
    if s[RULES] == 0 and now + cd > s[NEXT] then s[NEXT] = now + cd end
    s[CDELAY] = cd
  end
  s[RULES] = 1
  if pause > 0 and now + pause > s[NEXT] then s[NEXT] = now + pause end
  changed(h)
end
-- keep: after a lost reply, my leases the worker does not hold go back
local keep_flag = tonumber(ARGV[i]); i = i + 1
n = tonumber(ARGV[i]); i = i + 1
local keep = {}
for _ = 1, n do keep[ARGV[i]] = true; i = i + 1 end
if keep_flag == 1 then requeue_all(W, keep) end
-- stats
local fields = {'pages', 'errors', 'items', 'retries', 'seeds_ok'}
for _, f in ipairs(fields) do
  local d = tonumber(ARGV[i]); i = i + 1
  if d ~= 0 then redis.call('HINCRBY', STATS, f, d) end
end
-- start URLs that failed: counted, and the first 100 kept for the seeder
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local SEEDFAIL = P .. 'seedfail'
  redis.call('HINCRBY', STATS, 'seeds_failed', n)
  for _ = 1, n do
    if redis.call('LLEN', SEEDFAIL) < 100 then redis.call('RPUSH', SEEDFAIL, ARGV[i]) end
    i = i + 1
  end
end
local bye = tonumber(ARGV[i]) == 1
i = i + 1
-- cookies: stored by identity (a cookie set again overwrites its field:
-- the keys grow with the distinct cookies, not with the pages)
local COOKIES, COOKIESEQ = P .. 'cookies', P .. 'cookieseq'
local cookie_cursor = ARGV[i]; i = i + 1
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local last = redis.call('HINCRBY', STATS, 'cookie_seq', n)
  local z, h = {}, {}
  for j = 1, n do
    local key, state = ARGV[i], ARGV[i + 1]
    i = i + 2
    z[#z + 1] = int(last - n + j)
    z[#z + 1] = key
    h[#h + 1] = key
    h[#h + 1] = W .. '\n' .. state
  end
  batched('ZADD', COOKIESEQ, z)
  batched('HSET', COOKIES, h)
end
-- heartbeat, and reclaim the leases of workers that stopped beating
-- A worker that found the crawl before but is not in WORKERS now was
-- taken for dead (silent longer than the lease time): its leases went
-- back to the queues, and it must not start those it still holds.
-- the robots.txt claims of worker w (it is taken for dead): another
-- worker may fetch those robots.txt at once, not after the claim's time
local function drop_robots_claims(w)
  local mine = P .. 'robots-claims:' .. w
  for _, h in ipairs(redis.call('SMEMBERS', mine)) do
    local claim = P .. 'robots-claim:' .. h
    if redis.call('GET', claim) == w then redis.call('DEL', claim) end
  end
  redis.call('DEL', mine)
end
local reclaimed = false
if bye then
  requeue_all(W, nil)
  drop_robots_claims(W)
  redis.call('ZREM', WORKERS, W)
  redis.call('DEL', leases(W))
  redis.call('HDEL', P .. 'gen', W)
else
  reclaimed = redis.call('ZADD', WORKERS, int(now + lease_ms), W) == 1 and joined
end
local gen = bye and 0 or redis.call('HINCRBY', P .. 'gen', W, 1)
for _, w in ipairs(redis.call('ZRANGEBYSCORE', WORKERS, '-inf', now, 'LIMIT', 0, 16)) do
  requeue_all(w, nil)
  drop_robots_claims(w)
  redis.call('ZREM', WORKERS, w)
  redis.call('DEL', leases(w))
  redis.call('HINCRBY', STATS, 'reclaimed_workers', 1)
end
-- the pushes; a list that was empty puts its rank in the host's ranks
local pushed = {}
for h in pairs(pushes) do pushed[#pushed + 1] = h end
load_hosts(pushed)
for _, h in ipairs(pushed) do
  local s = hs[h]
  local opened = {}
  for rank, l in pairs(pushes[h]) do
    if s[FIRST] and rank < s[FIRST] then s[FIRST] = rank end
    local len, n = 0, #l[1] + #l[2]
    if #l[2] > 0 then len = batched('RPUSH', q(h, rank), l[2]) end
    if #l[1] > 0 then len = batched('LPUSH', q(h, rank), l[1]) end
    if len == n then
      opened[#opened + 1] = '0'
      opened[#opened + 1] = rank
    end
    s[QUEUED] = s[QUEUED] + n
  end
  batched('ZADD', ranks(h), opened)
  changed(h)
end
offer(touched)

-- the cookies other workers changed after this worker's cursor: first
-- in the reply, so they are in the jars before the leases start
local out = {'', '', '', '0', int(gen), reclaimed and '1' or '0', '0', int(added), cookie_cursor, '0'}
local news = redis.call('ZRANGEBYSCORE', COOKIESEQ, '(' .. cookie_cursor, '+inf', 'WITHSCORES')
if #news > 0 then
  local keys = {}
  for j = 1, #news, 2 do keys[#keys + 1] = news[j] end
  out[9] = news[#news]
  local vals = batched('HMGET', COOKIES, keys)
  local told = 0
  for j, key in ipairs(keys) do
    local v = vals[j]
    local nl = v and string.find(v, '\n', 1, true)
    if nl and string.sub(v, 1, nl - 1) ~= W then
      out[#out + 1] = key
      out[#out + 1] = string.sub(v, nl + 1)
      told = told + 1
    end
  end
  out[10] = int(told)
end
-- lease: hosts whose delay has ended, earliest first
local budget = want
if bye then budget = 0 end
-- The page budget counts pages written and leases out (a lease that
-- ends without a page, or is taken back from a dead worker, frees its
-- place in the budget again).
local function written() return tonumber(redis.call('HGET', STATS, 'written') or '0') end
if max_pages > 0 and budget > 0 then
  local out_now = tonumber(redis.call('HGET', STATS, 'leased') or '0') + d_leased
  budget = math.min(budget, math.max(0, max_pages - written() - out_now))
end
-- Fairness: a worker that holds leases leaves freed slots to a worker
-- that holds none and asked in the last second (else the one acking
-- would always take the slot it frees); that worker is woken below.
-- (Capping each worker at its share of the slots instead was measured
-- slower: 2 workers, 64 hosts, 11-14k pages/s against 20-22k.)
local HUNGRY = P .. 'hungry'
redis.call('ZREMRANGEBYSCORE', HUNGRY, '-inf', now - 1000)
local others = redis.call('ZCARD', HUNGRY) - (redis.call('ZSCORE', HUNGRY, W) and 1 or 0)
if budget > 0 and mine > 0 and others > 0 then budget = 0 end
-- Slots freed or work added while others wait: wake them (each waits on
-- P..wake:W with BLPOP between steps), so a freed slot is not idle until
-- their next poll.
if others > 0 and next(touched) ~= nil then
  for _, w in ipairs(redis.call('ZRANGE', HUNGRY, 0, 15)) do
    if w ~= W then
      local k = P .. 'wake:' .. w
      redis.call('LPUSH', k, '1')
      redis.call('LTRIM', k, 0, 0)
      redis.call('PEXPIRE', k, 5000)
    end
  end
end
local leased_now = 0
if budget > 0 then
  local ready = redis.call('ZRANGEBYSCORE', READY, '-inf', now, 'LIMIT', 0, budget)
  load_hosts(ready)
  local got, took = {}, {}
  for _, h in ipairs(ready) do
    if budget <= 0 then break end
    local s = hs[h]
    local hd = host_delay(h)
    local k = limit(h) - s[LEASED]
    if hd > 0 and k > 1 then k = 1 end
    if k > budget then k = budget end
    if k > 0 then
      -- the lowest rank first; a list found empty leaves the ranks
      local nr = 0
      while nr < k do
        local rank = s[FIRST] or redis.call('ZRANGE', ranks(h), '0', '0')[1]
        if not rank then break end
        s[FIRST] = rank
        local asked = k - nr
        local reqs = redis.call('LPOP', q(h, rank), int(asked))
        local m = reqs and #reqs or 0
        for j = 1, m do
          local g = #got
          got[g + 1] = h
          got[g + 2] = rank
          got[g + 3] = reqs[j]
        end
        nr = nr + m
        if m < asked then
          redis.call('ZREM', ranks(h), rank)
          s[FIRST] = nil
        end
      end
      budget = budget - nr
      s[LEASED] = s[LEASED] + nr
      s[QUEUED] = math.max(0, s[QUEUED] - nr)
      if nr < k then
        s[QUEUED] = 0
      elseif s[QUEUED] == 0 then
        -- taken all it counted: any rank left? (the count is a cache)
        s[QUEUED] = redis.call('ZCARD', ranks(h))
      end
      d_queued = d_queued - nr
      d_leased = d_leased + nr
    end
    s[NEXT] = now + hd
    dirty[h] = true
    took[h] = true
  end
  leased_now = #got / 3
  if leased_now > 0 then
    local last = redis.call('HINCRBY', STATS, 'seq', leased_now)
    local held = {}
    local first = last - leased_now + 1
    out[#out + 1] = string.format('%d', first)
    for j = 1, leased_now do
      local g = 3 * j
      local json = got[g]
      held[2 * j - 1] = string.format('%d', first + j - 1)
      held[2 * j] = got[g - 2] .. '\n' .. got[g - 1] .. json
      out[#out + 1] = json
    end
    batched('HSET', leases(W), held)
    redis.call('HINCRBY', STATS, 'dispatched', leased_now)
  end
  offer(took)
end
-- write back the host states: a host with nothing leased, nothing queued,
-- no delay running and no Crawl-delay is dropped
local sets, dels = {}, {}
for h in pairs(dirty) do
  local s = hs[h]
  if s[LEASED] == 0 and s[QUEUED] == 0 and s[NEXT] <= now and s[CDELAY] == 0 and s[RULES] == 0 then
    dels[#dels + 1] = h
  else
    sets[#sets + 1] = h
    sets[#sets + 1] = int(s[LEASED]) .. ' ' .. int(s[QUEUED]) .. ' ' .. int(s[NEXT]) .. ' ' .. int(s[CDELAY]) .. ' ' .. int(s[RULES]) .. ' ' .. (s[FIRST] or '')
  end
end
batched('HSET', HOST, sets)
batched('HDEL', HOST, dels)
if want > 0 and mine == 0 and leased_now == 0 and not bye then
  redis.call('ZADD', HUNGRY, now, W)
else
  redis.call('ZREM', HUNGRY, W)
end
if d_seen > 0 then redis.call('HINCRBY', STATS, 'seen', d_seen) end
local queued = redis.call('HINCRBY', STATS, 'queued', d_queued)
local leased = redis.call('HINCRBY', STATS, 'leased', d_leased)
local spent = max_pages > 0 and written() >= max_pages
-- Counted as queued, none leased, yet no host to lease from and no retry
-- waiting: the requests' lists are gone (deleted, or evicted under an
-- allkeys-* maxmemory-policy). The crawl ends without them, and says so,
-- rather than wait for them for good. (Only checked in this state: a
-- crawl with work out or a host waiting for its delay never gets here.)
if leased == 0 and queued > 0 and not spent
  and redis.call('ZCARD', READY) == 0 and redis.call('ZCARD', RETRY) == 0 then
  redis.call('HINCRBY', STATS, 'queued', -queued)
  redis.call('HINCRBY', STATS, 'lost', queued)
  out[7] = int(queued)
  queued = 0
end
local done = leased == 0 and (queued == 0 or spent)
-- The crawl's end, for `status`: kept by the first step that finds it
-- done; work queued after it (a start URL before any lease, a request
-- added with dont_filter to a finished crawl) takes it back.
if done then
  redis.call('HSETNX', STATS, 'ended_ms', now)
elseif leased == d_leased and queued == d_queued then
  redis.call('HDEL', STATS, 'ended_ms')
end
out[1] = done and '1' or '0'
out[2] = tostring(queued)
out[3] = tostring(leased)
-- Nothing leased to a worker that wants work: in how many ms the first
-- host's delay ends, so it can wait that long itself (a BLPOP timeout
-- only ends on Redis's timer tick, every 100 ms at the default hz).
if leased_now == 0 and want > 0 and not bye then
  local first = redis.call('ZRANGE', READY, '0', '0', 'WITHSCORES')
  local due = first[2] and (tonumber(first[2]) - now) or 0
  if due > 0 then out[4] = string.format('%d', due) end
end
return out

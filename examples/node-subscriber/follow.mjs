#!/usr/bin/env node
// follow.mjs follows proctag hosts on NATS and rebuilds their states. It is
// written from agent/snapshot/WIRE.md alone (section names in the comments
// are WIRE.md's), with two npm packages: nats (nats.js v2) and fzstd (a
// pure-JS zstd decoder). See README.md beside it and docs/consuming.md.
//
//   node follow.mjs [--server URL] [--prefix P] [--host ID] [--print-json]
//                   [--until-seq N [--heartbeats K] [--timeout SECONDS]]
//
// Without --print-json it prints one line per change. With it, one JSON
// object per line and change: {host_id, epoch, seq, kind, heartbeats,
// state, stats, counts}, where state is the host's state as a full
// snapshot's JSON. With --until-seq it exits 0 once a host (the --host one)
// has a state of seq >= N that K heartbeats have confirmed, or 1 after the
// timeout.
//
// What it leaves out: JetStream replay (it follows core NATS, and joins a
// host by a resync request), and the "Trust" rules beyond the format checks
// (seq window, conflicting messages, the agent's word): it believes the bus,
// which the recommended permissions make safe. agent/snapshot/natssub does
// all of it in Go.

import { parseArgs } from "node:util";
import { connect } from "nats";
import { decompress } from "fzstd";

const { values: opt } = parseArgs({
  options: {
    server: { type: "string", default: "nats://127.0.0.1:4222" },
    prefix: { type: "string", default: "proctag" },
    host: { type: "string" },
    "print-json": { type: "boolean", default: false },
    "until-seq": { type: "string" },
    heartbeats: { type: "string", default: "0" },
    timeout: { type: "string", default: "60" },
  },
});
const untilSeq = opt["until-seq"] === undefined ? undefined : Number(opt["until-seq"]);
const untilHeartbeats = Number(opt.heartbeats);
if ([untilSeq ?? 0, untilHeartbeats, Number(opt.timeout)].some((n) => !Number.isInteger(n) || n < 0)) {
  process.stderr.write("follow.mjs: --until-seq, --heartbeats and --timeout take whole numbers\n");
  process.exit(2);
}
const RESYNC_MIN_GAP_MS = 2000; // one resync request per host at most every 2 s ("Control": rate limits)
const MAX_PARTIAL = 4; // messages being reassembled per host ("Bodies")

const enc = new TextEncoder();
const dec = new TextDecoder();
const hosts = new Map(); // host id -> HostView
const counts = {}; // what was seen, printed with --print-json
const count = (what, n = 1) => { counts[what] = (counts[what] ?? 0) + n; };

// A HostView is what the reader knows of one host ("Sequencing": the epoch
// it follows, the seq of its state, and the state).
class HostView {
  constructor(id) {
    this.id = id;
    this.epoch = "";
    this.seq = 0;
    this.synced = false;
    this.host = null; // the host record
    this.procs = new Map(); // "pid/start_time" -> process ("delta": the key)
    this.socks = new Map(); // inode -> socket
    this.addresses = undefined; // "Host addresses and network": replaced whole
    this.closed = []; // the last message's, not state ("Short-lived processes")
    this.closedDropped = undefined;
    this.stats = {}; // merged heartbeat stats of the followed epoch ("hb")
    this.heartbeats = 0; // heartbeats that confirmed the current seq
    this.partial = new Map(); // "epoch/msg_id" -> {chunks, parts, have}
    this.lastAsk = 0;
  }
}

class WireError extends Error {}

// readEnvelope reads a message's headers, with the defaults of "Which
// headers a message carries": a heartbeat carries only epoch, seq, msg id
// and scan time.
function readEnvelope(host, kind, h, dataLen) {
  const get = (name) => (h && h.has(name) ? h.get(name) : undefined);
  const required = (name) => {
    const v = get(name);
    if (v === undefined) throw new WireError(`${name} missing`);
    return v;
  };
  const uint = (name, v) => {
    if (!/^[0-9]+$/.test(v)) throw new WireError(`${name}: ${JSON.stringify(v)} is not a number`);
    return Number(v);
  };
  const env = {
    epoch: required("Proctag-Epoch"),
    seq: uint("Proctag-Seq", required("Proctag-Seq")),
    msgId: uint("Proctag-Msg-Id", required("Proctag-Msg-Id")),
    scanTime: required("Proctag-Scan-Time"),
    baseSeq: kind === "delta" ? uint("Proctag-Base-Seq", required("Proctag-Base-Seq")) : undefined,
    hostname: get("Proctag-Hostname"),
    chunk: uint("Proctag-Chunk", get("Proctag-Chunk") ?? "0"),
    chunks: uint("Proctag-Chunks", get("Proctag-Chunks") ?? "1"),
    encoding: get("Content-Encoding") ?? "identity",
  };
  // "Envelope": the epoch's format, base_seq = seq - 1, scan time in UTC.
  if (!/^[0-9a-f]{16}-[0-9a-f]{8}$/.test(env.epoch)) throw new WireError(`epoch ${env.epoch} is malformed`);
  if (kind === "delta" && env.seq !== env.baseSeq + 1) throw new WireError(`delta seq ${env.seq} on base ${env.baseSeq}`);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/.test(env.scanTime)) throw new WireError(`scan time ${env.scanTime} is not RFC 3339 in UTC`);
  // Present headers are checked whatever the kind.
  const version = get("Proctag-Version");
  if (version !== undefined && version !== "1") throw new WireError(`version ${version}`);
  const hostId = get("Proctag-Host-Id");
  if (hostId !== undefined && hostId !== host) throw new WireError(`host id ${hostId} on host ${host}'s subject`);
  const k = get("Proctag-Kind");
  if (k !== undefined && k !== kind) throw new WireError(`kind ${k} on a ${kind} subject`);
  if (env.chunks < 1 || env.chunk >= env.chunks) throw new WireError(`chunk ${env.chunk} of ${env.chunks}`);
  if (env.encoding !== "identity" && env.encoding !== "zstd") throw new WireError(`encoding ${env.encoding}`);
  const size = get("Proctag-Size");
  if (size !== undefined) env.size = uint("Proctag-Size", size);
  else if (env.chunks === 1 && env.encoding === "identity") env.size = dataLen;
  else throw new WireError("Proctag-Size missing on a zstd or chunked message");
  return env;
}

// body reassembles and decodes ("Bodies"): collect `chunks` messages of the
// same epoch and msg_id, concatenate by chunk, decode per encoding, check
// the size. It returns undefined while chunks are missing.
function body(hv, env, data) {
  if (env.chunks > 1) {
    count("chunks");
    const key = `${env.epoch}/${env.msgId}`;
    let p = hv.partial.get(key);
    if (!p) {
      p = { chunks: env.chunks, parts: new Array(env.chunks), have: 0 };
      hv.partial.set(key, p);
      if (hv.partial.size > MAX_PARTIAL) hv.partial.delete(hv.partial.keys().next().value); // the oldest lost a chunk
    }
    if (p.chunks !== env.chunks) throw new WireError(`chunks ${env.chunks}, an earlier chunk said ${p.chunks}`);
    if (p.parts[env.chunk] === undefined) p.have++;
    p.parts[env.chunk] = data.slice(); // a copy: the client may reuse its buffer
    if (p.have < p.chunks) return undefined;
    hv.partial.delete(key);
    data = Buffer.concat(p.parts);
    count("chunked");
  }
  if (env.encoding === "zstd") {
    data = decompress(data);
    count("zstd");
  }
  if (data.length !== env.size) throw new WireError(`body of ${data.length} bytes, Proctag-Size says ${env.size}`);
  return JSON.parse(dec.decode(data)); // every number is an integer below 2^53 ("Bodies")
}

const procKey = (p) => `${p.pid}/${p.start_time ?? 0}`;

// adopt takes a full snapshot as the state ("snapshot").
function adopt(hv, env, s) {
  if (env.epoch !== hv.epoch) hv.stats = {}; // a new epoch starts from empty stats ("hb")
  hv.epoch = env.epoch;
  hv.seq = env.seq;
  hv.synced = true;
  hv.heartbeats = 0;
  hv.host = s.host;
  hv.procs = new Map((s.processes ?? []).map((p) => [procKey(p), p]));
  hv.socks = new Map((s.sockets ?? []).map((k) => [k.inode, k]));
  hv.addresses = s.addresses;
  hv.closed = s.closed ?? [];
  hv.closedDropped = s.closed_dropped;
}

// apply applies a delta to its base ("delta"): keys it adds must be new,
// keys it changes or removes must be there, else it does not fit.
function apply(hv, env, d) {
  const fit = (ok, what) => { if (!ok) throw new WireError(`delta ${env.seq} does not fit: ${what}`); };
  const procs = new Map(hv.procs);
  const socks = new Map(hv.socks);
  for (const p of d.added ?? []) { fit(!procs.has(procKey(p)), `adds process ${procKey(p)}`); procs.set(procKey(p), p); }
  for (const p of d.changed ?? []) { fit(procs.has(procKey(p)), `changes process ${procKey(p)}`); procs.set(procKey(p), p); }
  for (const k of d.removed ?? []) { fit(procs.delete(procKey(k)), `removes process ${procKey(k)}`); }
  for (const s of d.sockets_added ?? []) { fit(!socks.has(s.inode), `adds socket ${s.inode}`); socks.set(s.inode, s); }
  // sockets_changed is part of v1: owners, role and state change here.
  for (const s of d.sockets_changed ?? []) { fit(socks.has(s.inode), `changes socket ${s.inode}`); socks.set(s.inode, s); }
  for (const inode of d.sockets_removed ?? []) { fit(socks.delete(inode), `removes socket ${inode}`); }
  hv.procs = procs;
  hv.socks = socks;
  if (d.host) hv.host = d.host;
  if (d.addresses !== undefined) { hv.addresses = d.addresses; count("addresses changed"); } // absent: the list stays
  hv.closed = d.closed ?? []; // closed is per message, never added up
  hv.closedDropped = d.closed_dropped;
  hv.seq = env.seq;
  hv.heartbeats = 0;
  count("processes changed", d.changed?.length ?? 0);
  count("sockets changed", d.sockets_changed?.length ?? 0);
  count("sockets removed", d.sockets_removed?.length ?? 0);
  return d;
}

// heartbeat confirms the state ("Sequencing", hb): the agent's state is the
// same but for its scan time, and no connection closed in that tick.
function heartbeat(hv, env, stats) {
  hv.host = { ...hv.host, scan_time: env.scanTime };
  hv.closed = [];
  hv.closedDropped = undefined;
  hv.heartbeats++;
  Object.assign(hv.stats, stats); // a field the heartbeat leaves out keeps its value ("hb")
}

// feed takes one message; it returns true when the host's state changed.
function feed(nc, hostId, kind, m) {
  let hv = hosts.get(hostId);
  if (!hv) hosts.set(hostId, (hv = new HostView(hostId)));
  const env = readEnvelope(hostId, kind, m.headers, m.data.length);
  const b = body(hv, env, m.data);
  if (b === undefined) return false; // more chunks to come
  count(kind);
  const newer = env.epoch > hv.epoch; // epochs order as strings ("Envelope", "Trust" 2)
  if (!newer && env.epoch !== hv.epoch) { count("older epoch"); return false; }
  switch (kind) {
    case "snapshot":
      if (newer || env.seq > hv.seq || !hv.synced) {
        if (newer && hv.epoch !== "") count("epochs followed");
        adopt(hv, env, b);
        return true;
      }
      return false; // a replay
    case "delta":
      if (!newer && hv.synced && env.baseSeq === hv.seq) {
        try {
          hv.lastDelta = apply(hv, env, b);
          return true;
        } catch (err) {
          hv.synced = false;
          resync(nc, hv, err.message);
          throw err;
        }
      }
      if (!newer && hv.synced && env.seq <= hv.seq) return false; // a replay
      hv.synced = false; // a gap, or a new epoch (the agent restarted)
      resync(nc, hv, hv.host === null ? "join" : newer ? "new epoch" : `gap: delta ${env.baseSeq}->${env.seq} on state ${hv.seq}`);
      return false;
    case "hb":
      if (!newer && hv.synced && env.seq === hv.seq) {
        heartbeat(hv, env, b);
        return true;
      }
      if (!newer) Object.assign(hv.stats, b);
      hv.synced = false;
      resync(nc, hv, hv.host === null ? "join" : newer ? "new epoch" : `gap: heartbeat ${env.seq} on state ${hv.seq}`);
      return false;
  }
  return false;
}

// resync asks the host's agent for a full snapshot ("Control"), at most once
// per RESYNC_MIN_GAP_MS per host; the reply only acknowledges, the snapshot
// follows on the .snapshot subject.
function resync(nc, hv, why) {
  const now = Date.now();
  if (now - hv.lastAsk < RESYNC_MIN_GAP_MS) return;
  hv.lastAsk = now;
  count("resync");
  log(`${hv.id}: ${why}, resync asked`);
  nc.request(`${opt.prefix}.v1.${hv.id}.control`, enc.encode('{"op":"resync"}'), { timeout: 5000 })
    .then((reply) => {
      const r = JSON.parse(dec.decode(reply.data));
      if (!r.ok) log(`${hv.id}: resync refused: ${r.error}`);
    })
    .catch((err) => log(`${hv.id}: resync request: ${err.message}`));
}

// ipKey orders addresses numerically, every IPv4 one before every IPv6 one
// ("snapshot"); it returns [family, bytes...].
function ipKey(ip = "") {
  ip = ip.split("%")[0];
  if (!ip.includes(":")) return [4, ...ip.split(".").map(Number)];
  let [head, tail = null] = ip.split("::");
  const groups = (s) => (s ? s.split(":") : []).flatMap((g) =>
    g.includes(".") ? ((b) => [(b[0] << 8) | b[1], (b[2] << 8) | b[3]])(g.split(".").map(Number)) : [parseInt(g, 16)]);
  let h = groups(head), t = tail === null ? [] : groups(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return [6, ...all.flatMap((g) => [g >> 8, g & 255])];
}

function compare(a, b) {
  if (Array.isArray(a)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length - b.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortBy(list, key) {
  const keyed = list.map((v) => [key(v), v]);
  keyed.sort(([ka], [kb]) => { for (let i = 0; i < ka.length; i++) { const c = compare(ka[i], kb[i]); if (c) return c; } return 0; });
  return keyed.map(([, v]) => v);
}

// state is the host's state as a full snapshot's JSON, in the documented
// orders ("snapshot").
function state(hv) {
  const s = {
    host: hv.host,
    processes: sortBy([...hv.procs.values()], (p) => [p.pid, p.start_time ?? 0]),
    sockets: sortBy([...hv.socks.values()], (k) => [k.netns_id ?? 0, k.proto, ipKey(k.local_ip), k.local_port ?? 0,
      ipKey(k.remote_ip), k.remote_port ?? 0, k.inode]),
  };
  if (hv.addresses !== undefined) s.addresses = hv.addresses;
  if (hv.closed.length > 0) s.closed = hv.closed;
  if (hv.closedDropped !== undefined) s.closed_dropped = hv.closedDropped;
  return s;
}

function log(line) {
  process.stderr.write(`follow.mjs: ${line}\n`);
}

// show prints one change.
function show(hv, kind) {
  if (opt["print-json"]) {
    const stats = { ...hv.stats, processes: hv.procs.size, sockets: hv.socks.size }; // counts from the state ("hb")
    process.stdout.write(JSON.stringify({ host_id: hv.id, epoch: hv.epoch, seq: hv.seq, kind, heartbeats: hv.heartbeats,
      state: state(hv), stats, counts }) + "\n");
    return;
  }
  const name = `${hv.host?.hostname ?? "?"} (${hv.id}) seq ${hv.seq}`;
  const d = hv.lastDelta;
  const n = (l) => l?.length ?? 0;
  const what = kind === "delta"
    ? `processes +${n(d.added)} -${n(d.removed)} ~${n(d.changed)}, sockets +${n(d.sockets_added)} -${n(d.sockets_removed)} ~${n(d.sockets_changed)}`
    : kind === "hb" ? `quiet, stats ${JSON.stringify(hv.stats)}` : `epoch ${hv.epoch}`;
  const closed = hv.closed.length ? `, ${hv.closed.length} closed connections` : "";
  console.log(`${hv.host?.scan_time} ${name} ${kind}: ${what}${closed}; ${hv.procs.size} processes, ${hv.socks.size} sockets`);
}

const done = (hv) => untilSeq !== undefined && (!opt.host || hv.id === opt.host) && hv.synced &&
  hv.seq >= untilSeq && hv.heartbeats >= untilHeartbeats;

async function main() {
  let nc;
  try {
    nc = await connect({ servers: opt.server, name: "proctag-node-subscriber" });
  } catch (err) {
    log(`connect ${opt.server}: ${err.message}`);
    process.exitCode = 1;
    return;
  }
  // "Subjects": one host, or all; .control carries requests, no envelope.
  const sub = nc.subscribe(`${opt.prefix}.v1.${opt.host ?? "*"}.*`);
  await nc.flush();
  log(`following ${opt.host ?? "every host"} under ${opt.prefix} on ${opt.server}`);
  let timer;
  if (untilSeq !== undefined) {
    timer = setTimeout(() => {
      const hv = hosts.get(opt.host) ?? [...hosts.values()][0];
      log(`timed out after ${opt.timeout} s waiting for seq >= ${untilSeq} and ${untilHeartbeats} heartbeats: ` +
        (hv ? `host ${hv.id} has epoch ${hv.epoch}, seq ${hv.seq}, ${hv.heartbeats} heartbeats, synced ${hv.synced}` : "nothing heard"));
      process.exitCode = 1;
      nc.close();
    }, Number(opt.timeout) * 1000);
  }
  // Following one host, join at once ("Sequencing": nothing seen yet).
  if (opt.host) {
    const hv = new HostView(opt.host);
    hosts.set(opt.host, hv);
    resync(nc, hv, "join");
  }
  for await (const m of sub) {
    const [, , hostId, kind] = m.subject.split(".");
    if (kind === "control") continue;
    if (kind !== "snapshot" && kind !== "delta" && kind !== "hb") continue;
    try {
      if (feed(nc, hostId, kind, m)) {
        const hv = hosts.get(hostId);
        show(hv, kind);
        if (done(hv)) break;
      }
    } catch (err) {
      count("refused");
      log(`${m.subject}: ${err.message}`);
    }
  }
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close();
}

await main();

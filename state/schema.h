// The table layout of state.db, format 5 (StateDb::kFormatVersion).
//
// Any change to this text is a new format: bump kFormatVersion and teach
// StateDb::Open to upgrade older files (state/state_format.cpp), because a
// host's state.db outlives the rvg build that wrote it. An upgraded file
// must end up with exactly this layout, which is why a column added by an
// upgrade sits at the end of its table and carries the DEFAULT that ALTER
// TABLE ADD COLUMN needs.
//
// History:
//   1  first format.
//   2  rvgs.srl_uuid: the identity written into the RVG's SRL. Every RVG
//      has an SRL now, a secondary too, and a secondary's uuid is "" until
//      its primary binds it, so the SRL needs an identity of its own. The
//      upgrade sets srl_uuid = uuid, which is what format-1 primaries
//      created their SRLs with.
//   3  peer_key and insecure on rvgs (a secondary's pinned primary) and on
//      rlinks (the primary's pinned secondary): CURVE on every RLINK. An
//      upgraded RVG has no key pinned, so rvgd refuses to start it until
//      an administrator runs `rvgadm trust` (or opts out with --insecure).
//   4  failover (doc/failover.md): generations.parent (the history is a
//      chain; the upgrade links each row to the one before it), flags.reason,
//      rvgs.host (this host's name in the RVG), rvgs.mountpoint (where a
//      primary mounts when a role change gives none), rvgs.primary_running
//      (1 while a primary rvgd runs: found set at start = an unclean end,
//      hence data_corrupt), rlinks.peer_generation (the generation the peer
//      last accepted in a handshake: a session loss to a peer that has seen
//      the current generation begins a new one at the next write).
//   5  rlinks.source_wait: how long a primary waits for the previous
//      source's failback report before a full resync of a third host
//      (doc/failover.md, "Three hosts"); 600 s on an upgraded RLINK.
//
// Invariants the layout enforces:
// - everything belongs to an RVG and goes when the RVG goes (ON DELETE
//   CASCADE, which needs PRAGMA foreign_keys=ON on every connection);
// - a volume's id and its name are each unique within its RVG;
// - seqs and sizes are uint64 values stored bit for bit in INTEGER columns.
//
// bitmaps: DCM and failback bitmaps, one row per chunk of a (rlink,
// volume) map so that dirtying a region rewrites one small row
// (StateDb::SaveBitmapChunks; bits as in core/dirty_map.h).
// rlink is "" for the failback bitmap, which belongs to no RLINK; that is
// why it is not a foreign key into rlinks.
#pragma once

namespace rvg {

inline constexpr const char* kStateSchemaSql = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value NOT NULL
);

CREATE TABLE rvgs (
  name        TEXT PRIMARY KEY,
  uuid        TEXT NOT NULL,
  role        TEXT NOT NULL,
  durability  TEXT NOT NULL,
  listen      TEXT NOT NULL,
  region_size INTEGER NOT NULL,
  srl_path    TEXT NOT NULL,
  srl_size    INTEGER NOT NULL,
  generation  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  srl_uuid    TEXT NOT NULL DEFAULT '',
  peer_key    TEXT NOT NULL DEFAULT '',
  insecure    INTEGER NOT NULL DEFAULT 0,
  host        TEXT NOT NULL DEFAULT '',
  mountpoint  TEXT NOT NULL DEFAULT '',
  primary_running INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE volumes (
  rvg  TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  id   INTEGER NOT NULL,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (rvg, id),
  UNIQUE (rvg, name)
);

CREATE TABLE rlinks (
  rvg               TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  address           TEXT NOT NULL,
  synchronous       TEXT NOT NULL,
  sync_ack          TEXT NOT NULL,
  ack_timeout       REAL NOT NULL,
  latencyprot       TEXT NOT NULL,
  latency_high_mark INTEGER NOT NULL,
  latency_low_mark  INTEGER NOT NULL,
  srlprot           TEXT NOT NULL,
  bandwidth_limit   INTEGER NOT NULL,
  state             TEXT NOT NULL,
  sent_seq          INTEGER NOT NULL,
  net_acked_seq     INTEGER NOT NULL,
  data_acked_seq    INTEGER NOT NULL,
  peer_key          TEXT NOT NULL DEFAULT '',
  insecure          INTEGER NOT NULL DEFAULT 0,
  peer_generation   TEXT NOT NULL DEFAULT '',
  source_wait       REAL NOT NULL DEFAULT 600,
  PRIMARY KEY (rvg, name)
);

CREATE TABLE secondary_progress (
  rvg         TEXT PRIMARY KEY REFERENCES rvgs(name) ON DELETE CASCADE,
  applied_seq INTEGER NOT NULL
);

-- Oldest first is rowid order.
CREATE TABLE generations (
  rvg        TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  uuid       TEXT NOT NULL,
  start_seq  INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  parent     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX generations_by_rvg ON generations (rvg);

CREATE TABLE flags (
  rvg    TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  value  TEXT NOT NULL,
  set_at INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (rvg, name)
);

CREATE TABLE bitmaps (
  rvg         TEXT NOT NULL REFERENCES rvgs(name) ON DELETE CASCADE,
  rlink       TEXT NOT NULL,
  volume_id   INTEGER NOT NULL,
  chunk_index INTEGER NOT NULL,
  bits        BLOB NOT NULL,
  PRIMARY KEY (rvg, rlink, volume_id, chunk_index)
);
)sql";

}  // namespace rvg

// StateDb: one host's persistent state, in SQLite (WAL mode) at
// HOME/state.db: RVGs and their volumes, RLINKs with their attributes and
// progress, the secondary's applied_seq, generation history, flags and the
// DCM / failback bitmaps.
//
// Several processes open the same file (rvgd per RVG, rvgadm); every method
// is one transaction and waits (busy timeout) rather than failing when
// another process holds the write lock; when the lock stays taken past
// that timeout the error's code() is EBUSY (try again later), as opposed to
// EIO and the rest, which waiting will not cure. A database written by a
// newer format than this build knows is refused with a clear error; an
// older format is upgraded by Open (state/state_format.h).
//
// One StateDb object is used from one thread at a time; callers that share
// it across threads serialize access. (That is also what lets it keep the
// prepared statements of its hot paths, which belong to its connection.)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dirty_map.h"
#include "core/generation_history.h"
#include "core/status.h"
#include "core/volume.h"

struct sqlite3;

namespace rvg {

class SqlStatement;

struct RvgConfig {
  std::string name;
  std::string uuid;         // a secondary's is "" until its first primary binds it
  std::string role;         // "primary" | "secondary"
  std::string durability = "flush";  // "flush" | "strict"
  std::string listen;       // ZeroMQ endpoint a secondary listens on ("" if none)
  uint64_t region_size = 64 * 1024;
  // Every RVG has an SRL, a secondary too (secondary logging, DESIGN.md).
  // srl_uuid is the identity written into it at creation: a fresh uuid,
  // independent of `uuid` because a secondary has none at creation. RVGs
  // upgraded from format 1 have srl_uuid = uuid, and a format-1 secondary
  // has no SRL (srl_path "").
  std::string srl_path;
  uint64_t srl_size = 0;
  std::string srl_uuid;
  std::string generation;   // current generation id ("" until known)
  std::vector<VolumeSpec> volumes;  // ordered by id
  // A secondary's pairing (DESIGN.md, Security): the CURVE public key of the
  // one primary it accepts ("" until an administrator pins it), or, for a
  // lab, insecure = no authentication and no encryption at all. Unused on
  // a primary, whose peers are pinned per RLINK.
  std::string peer_key;
  bool insecure = false;
  // This host's name within the RVG (create --host; announced to peers).
  std::string host;
  // Where a primary mounts when neither rvgd nor a role change is given a
  // --mount (the last `rvgadm start --mount`); "" when never set.
  std::string mountpoint;
  // 1 while a primary rvgd runs: found set when one starts, the last one
  // ended without a clean stop (doc/failover.md, data_corrupt).
  bool primary_running = false;
};

struct RlinkConfig {
  std::string rvg;
  std::string name;         // the secondary's name
  std::string address;      // its ZeroMQ endpoint
  // Replication attributes (DESIGN.md): synchronous, sync_ack, ack_timeout,
  // latencyprot, latency_high_mark, latency_low_mark, srlprot,
  // bandwidth_limit, source_wait. AddRlink and SetRlinkAttribute validate them
  // (state/config_check.h), so bad values never reach the database.
  std::string synchronous = "off";
  std::string sync_ack = "received";
  double ack_timeout = 5.0;
  std::string latencyprot = "off";
  uint64_t latency_high_mark = 10000;
  uint64_t latency_low_mark = 9000;
  std::string srlprot = "autodcm";
  uint64_t bandwidth_limit = 0;  // bytes/s, 0 = none
  // Three hosts (doc/failover.md): seconds to wait for the previous
  // source's report before a full resync of this secondary.
  double source_wait = 600;
  // The secondary's CURVE public key, which the primary verifies as the
  // server key ("" until pinned), or insecure for a lab link.
  std::string peer_key;
  bool insecure = false;
  std::string state = "disconnected";
  // The generation the peer accepted in its last handshake ("" if none).
  std::string peer_generation;
  uint64_t sent_seq = 0;
  uint64_t net_acked_seq = 0;
  uint64_t data_acked_seq = 0;
};

struct FlagEntry {
  std::string name;
  std::string value;
  int64_t set_at = 0;  // unix seconds
  std::string reason;  // why it was set, for people
};

// A role change (doc/failover.md), applied in one transaction: the role,
// a generation appended to the history (and made current), flags set
// (set_at filled in) and cleared, RLINK states. A power cut leaves all of
// it or none.
struct RoleChange {
  std::string role;  // "primary" | "secondary"
  std::optional<Generation> generation;
  // Replaces the whole history (not empty) before
  // `generation` is appended: resolve --discard-local drops this host's
  // generations after a split.
  std::optional<GenerationHistory> history;
  std::vector<FlagEntry> set_flags;
  std::vector<std::string> clear_flags;
  std::vector<std::pair<std::string, std::string>> rlink_states;  // RLINK name, state
  // A primary stepping down for a fast failback: the regions it wrote past
  // the fork, which replace the failback bitmap (bitmaps row rlink "").
  std::optional<std::vector<BitmapChunk>> failback_bitmap;
};

// The flag that makes RLINK `rlink`'s resync compare region hashes
// before sending regions (rvgadm startrep --checksum), until it ends.
std::string CompareResyncFlag(const std::string& rlink);

class StateDb {
 public:
  // The format version this build writes (table layout of state.db).
  static constexpr int kFormatVersion = 5;

  // Opens the database at `path`, creating it whole if missing (never over
  // an existing file: see state/state_file.h). Fails with a clear message
  // if the file is empty, fails PRAGMA quick_check, is not an rvg state
  // database or was written by a newer format. Upgrades an older format in
  // place, in one transaction.
  static Result<std::unique_ptr<StateDb>> Open(const std::string& path);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // RVGs. CreateRvg fails if the name exists. In the same transaction it
  // starts the generation history with config.generation (start seq 1)
  // when that is set, so an RVG never exists half-made.
  Status CreateRvg(const RvgConfig& config);
  Result<RvgConfig> GetRvg(const std::string& name);  // error "no RVG named X"
  Result<std::vector<std::string>> ListRvgs();
  Status DeleteRvg(const std::string& name);  // with its volumes, rlinks, ...
  // A secondary recording the RVG uuid and generation its pinned primary
  // announces in its first accepted HELLO (an administrator bound it, by
  // key or by --rvg-uuid): sets both and appends the generation (start seq
  // 1) to the history, in one transaction.
  // Fails, changing nothing, if the RVG is already bound to another uuid.
  Status BindRvg(const std::string& name, const std::string& uuid, const std::string& generation);
  // Pins the key of the primary a secondary RVG accepts (`rvgadm trust`),
  // or, with key "" and insecure, opts it out of authentication. The key
  // must have passed CheckPublicKey (net/host_keys.h).
  Status SetRvgPeer(const std::string& name, const std::string& key, bool insecure);
  Status SetDurability(const std::string& name, const std::string& durability);

  // RLINKs (on the primary). AddRlink fails if (rvg, name) exists.
  Status AddRlink(const RlinkConfig& rlink);
  Status DeleteRlink(const std::string& rvg, const std::string& name);
  Result<std::vector<RlinkConfig>> ListRlinks(const std::string& rvg);
  Result<RlinkConfig> GetRlink(const std::string& rvg, const std::string& name);
  // Sets one attribute by its DESIGN.md name (e.g. "synchronous"); unknown
  // names are an error.
  Status SetRlinkAttribute(const std::string& rvg, const std::string& name,
                           const std::string& key, const std::string& value);
  // The same for an RLINK: the secondary's key, or insecure.
  Status SetRlinkPeer(const std::string& rvg, const std::string& name, const std::string& key,
                      bool insecure);
  Status SaveRlinkProgress(const std::string& rvg, const std::string& name,
                           const std::string& state, uint64_t sent_seq,
                           uint64_t net_acked_seq, uint64_t data_acked_seq);

  // Secondary progress: the highest seq applied AND synced to the images.
  Status SaveAppliedSeq(const std::string& rvg, uint64_t applied_seq);
  Result<uint64_t> AppliedSeq(const std::string& rvg);  // 0 if never saved

  // Failover state (state_failover.cpp). The generation history, oldest
  // first; AddGeneration appends an entry and makes it the current
  // generation, AdoptHistory replaces the whole history with a peer's
  // (checked by CheckHistory) and makes its newest entry current.
  Status AddGeneration(const std::string& rvg, const Generation& entry);
  Status AdoptHistory(const std::string& rvg, const GenerationHistory& history);
  Result<GenerationHistory> Generations(const std::string& rvg);

  // Flags (DESIGN.md Failover): name -> value, with the time it was set
  // and why. A flag of one RLINK (CompareResyncFlag) goes with it in
  // DeleteRlink.
  Status SetFlag(const std::string& rvg, const std::string& name, const std::string& value,
                 const std::string& reason = "");
  Status ClearFlag(const std::string& rvg, const std::string& name);
  Result<std::vector<FlagEntry>> Flags(const std::string& rvg);

  Status ChangeRole(const std::string& rvg, const RoleChange& change);
  Status SetMountpoint(const std::string& rvg, const std::string& mountpoint);
  Status SetPrimaryRunning(const std::string& rvg, bool running);
  Status SaveRlinkPeerGeneration(const std::string& rvg, const std::string& rlink,
                                 const std::string& generation);
  // The end of a fast failback on the host that stepped down, once the
  // resync's end is durable on its images: in one transaction the peer's
  // history is adopted (as AdoptHistory), and flags `failback` and
  // `inconsistent` and the failback bitmap are removed. A power cut leaves
  // the host either still owing the failback (it is done again) or done.
  Status EndFailback(const std::string& rvg, const GenerationHistory& history);

  // Bitmaps (DESIGN.md State; core/dirty_map.h): the DCM bitmap of an
  // RLINK, or with rlink "" the failback bitmap, stored one row per chunk
  // so that dirtying a region rewrites one small row. They are implemented
  // in state_bitmaps.cpp. A missing RVG is an error ("no RVG named X"); the
  // RLINK is not checked (the failback bitmap has none), but DeleteRlink
  // removes an RLINK's bitmap and DeleteRvg every bitmap of the RVG.
  //
  // One transaction: each chunk's row is replaced; a chunk with no bit set
  // deletes its row (a clean map has no rows).
  Status SaveBitmapChunks(const std::string& rvg, const std::string& rlink,
                          const std::vector<BitmapChunk>& chunks);
  // Every stored chunk, ordered by (volume id, chunk index); nothing for a
  // clean map. The chunks are not checked against the volumes here:
  // DirtyMap::Load does that.
  Result<std::vector<BitmapChunk>> LoadBitmap(const std::string& rvg, const std::string& rlink);
  // Removes the whole bitmap (no error if there is none).
  Status DeleteBitmap(const std::string& rvg, const std::string& rlink);

 private:
  explicit StateDb(sqlite3* db);
  // `*slot`, prepared from `sql` on first use and kept (see the class
  // comment); the caller runs it and resets it.
  SqlStatement& Cached(std::unique_ptr<SqlStatement>* slot, const char* sql);

  sqlite3* db_;
  // The checkpoints' statements: a secondary saves its applied_seq, a
  // primary its RLINKs' progress, up to several times a second. Finalized
  // before db_ is closed.
  std::unique_ptr<SqlStatement> save_applied_seq_;
  std::unique_ptr<SqlStatement> save_rlink_progress_;
};

}  // namespace rvg

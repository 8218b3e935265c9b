#include "net/host_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <zmq.h>

namespace rvg {

namespace {

constexpr size_t kZ85KeyChars = 40;
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool IsZ85Key(const std::string& key) {
  if (key.size() != kZ85KeyChars) return false;
  for (char c : key) {
    if (kZ85Alphabet.find(c) == std::string_view::npos) return false;
  }
  uint8_t decoded[32];
  return zmq_z85_decode(decoded, key.c_str()) != nullptr;
}

// Reads a small key file: one line of Z85 text. *missing is set when the
// file does not exist (not an error by itself).
Status ReadKeyFile(const std::string& path, bool check_private, std::string* key,
                   bool* missing) {
  *missing = false;
  // O_NOFOLLOW: a key is a file of the home, not a link to somewhere
  // else; O_NONBLOCK: a FIFO in its place must not hang rvgd (S_ISREG
  // below refuses it).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return Status::Ok();
    }
    if (errno == ELOOP) {
      return Status::Error(path + " is a symbolic link; replace it with the key file itself",
                           EINVAL);
    }
    return Status::FromErrno(errno, "opening " + path);
  }
  struct stat st;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = Status::FromErrno(errno, "checking " + path);
  } else if (!S_ISREG(st.st_mode)) {
    status = Status::Error(path + " is not a regular file; move it away", EINVAL);
  } else if (check_private && st.st_uid != ::geteuid()) {
    status = Status::Error(path + " belongs to uid " + std::to_string(st.st_uid) +
                               ", not to this user (uid " + std::to_string(::geteuid()) +
                               "); chown it or use this user's own --home",
                           EPERM);
  } else if (check_private && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = Status::Error(path + " holds this host's secret key but has mode " + mode +
                               " (others may read it); chmod 600 it",
                           EPERM);
  }
  char buffer[kZ85KeyChars + 8] = {};
  ssize_t n = status.ok() ? ::read(fd, buffer, sizeof(buffer)) : 0;
  if (status.ok() && n < 0) status = Status::FromErrno(errno, "reading " + path);
  ::close(fd);
  if (!status.ok()) return status;
  std::string text(buffer, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!IsZ85Key(text)) {
    return Status::Error(path + " does not hold a CURVE key (40 characters of Z85); restore it "
                                "from a backup, or move it and curve.pub away to make a new pair",
                         EINVAL);
  }
  *key = text;
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening " + dir);
  Status status = ::fsync(fd) == 0 ? Status::Ok() : Status::FromErrno(errno, "syncing " + dir);
  ::close(fd);
  return status;
}

// Writes `text` durably to a fresh temporary file next to `path` and
// publishes it at `path`: with link() when `exclusive` (fails with EEXIST
// if `path` appeared meanwhile — another rvgadm made the pair first), with
// rename() otherwise.
Status PublishFile(const std::string& dir, const std::string& path, const std::string& text,
                   mode_t mode, bool exclusive) {
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "creating " + temp);
  Status status;
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    status = Status::FromErrno(errno ? errno : EIO, "writing " + temp);
  } else if (::fdatasync(fd) != 0) {
    status = Status::FromErrno(errno, "syncing " + temp);
  }
  ::close(fd);
  if (status.ok()) {
    int rc = exclusive ? ::link(temp.c_str(), path.c_str()) : ::rename(temp.c_str(), path.c_str());
    if (rc != 0) status = Status::FromErrno(errno, "creating " + path);
  }
  ::unlink(temp.c_str());
  if (status.ok()) status = SyncDir(dir);
  return status;
}

Status CreateSecretKey(const std::string& dir, const std::string& path) {
  char public_key[kZ85KeyChars + 1];
  char secret_key[kZ85KeyChars + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Error("this libzmq cannot make CURVE keys (built without libsodium?): "
                         "install Debian's libzmq5");
  }
  Status status = PublishFile(dir, path, std::string(secret_key) + "\n", 0600, true);
  // Lost a race with another process making the pair: theirs is the pair.
  if (status.code() == EEXIST) return Status::Ok();
  return status;
}

}  // namespace

Status CheckPublicKey(const std::string& key, const std::string& what) {
  if (IsZ85Key(key)) return Status::Ok();
  return Status::Error(what + " must be a CURVE public key as `rvgadm pubkey` prints it "
                              "(40 characters of Z85), not '" +
                           key.substr(0, 60) + "'",
                       EINVAL);
}

Result<CurveKeyPair> LoadOrCreateHostKeys(const std::string& home_dir) {
  const std::string secret_path = home_dir + "/curve.key";
  const std::string public_path = home_dir + "/curve.pub";
  CurveKeyPair pair;
  bool secret_missing = false;
  Status status = ReadKeyFile(secret_path, true, &pair.secret_key, &secret_missing);
  if (!status.ok()) return status;
  bool public_missing = false;
  std::string stored_public;
  status = ReadKeyFile(public_path, false, &stored_public, &public_missing);
  if (secret_missing) {
    if (!public_missing || !status.ok()) {
      return Status::Error(public_path + " exists but " + secret_path +
                               " does not: this host's secret key is lost; restore it from a "
                               "backup, or delete curve.pub to make a new pair (and pin the new "
                               "public key on the peers)",
                           ENOENT);
    }
    status = CreateSecretKey(home_dir, secret_path);
    if (!status.ok()) return status.Annotate("making this host's CURVE key pair");
    status = ReadKeyFile(secret_path, true, &pair.secret_key, &secret_missing);
    if (!status.ok()) return status;
    public_missing = true;
  }
  // The public key is derived from the secret one; curve.pub is a copy for
  // administrators, rewritten whenever it is missing or does not match.
  char derived[kZ85KeyChars + 1];
  if (zmq_curve_public(derived, pair.secret_key.c_str()) != 0) {
    return Status::Error("cannot derive the public key from " + secret_path + ": " +
                         zmq_strerror(zmq_errno()));
  }
  pair.public_key = derived;
  if (public_missing || !status.ok() || stored_public != pair.public_key) {
    status = PublishFile(home_dir, public_path, pair.public_key + "\n", 0644, false);
    if (!status.ok()) return status;
  }
  return pair;
}

}  // namespace rvg

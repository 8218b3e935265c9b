// HostKeys: the host's CURVE key pair in its home, and pinned peer keys.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/host_keys.h"

namespace {

// A fresh home folder, removed at the end of the test.
class TempHome {
 public:
  TempHome() {
    char name[] = "/tmp/rvg-keys-XXXXXX";
    path_ = ::mkdtemp(name);
  }
  ~TempHome() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

TEST_CASE("A key pair is made at first use, private, and the same one comes back") {
  TempHome home;
  rvg::Result<rvg::CurveKeyPair> made = rvg::LoadOrCreateHostKeys(home.path());
  REQUIRE(made.ok());
  CHECK(made->public_key.size() == 40);
  CHECK(made->secret_key.size() == 40);
  CHECK(made->public_key != made->secret_key);
  CHECK(rvg::CheckPublicKey(made->public_key, "key").ok());
  struct stat st;
  REQUIRE(::stat(home.file("curve.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(ReadFile(home.file("curve.pub")) == made->public_key);

  rvg::Result<rvg::CurveKeyPair> again = rvg::LoadOrCreateHostKeys(home.path());
  REQUIRE(again.ok());
  CHECK(again->secret_key == made->secret_key);
  CHECK(again->public_key == made->public_key);

  // curve.pub is a copy: a lost or edited one is rewritten from the secret.
  ::unlink(home.file("curve.pub").c_str());
  REQUIRE(rvg::LoadOrCreateHostKeys(home.path()).ok());
  CHECK(ReadFile(home.file("curve.pub")) == made->public_key);
}

TEST_CASE("A secret key others may read is refused, saying how to fix it") {
  TempHome home;
  REQUIRE(rvg::LoadOrCreateHostKeys(home.path()).ok());
  REQUIRE(::chmod(home.file("curve.key").c_str(), 0640) == 0);
  rvg::Result<rvg::CurveKeyPair> keys = rvg::LoadOrCreateHostKeys(home.path());
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.status().message().find("chmod 600") != std::string::npos);
  CHECK(keys.status().message().find("0640") != std::string::npos);
}

TEST_CASE("A lost secret key is not silently replaced by a new identity") {
  TempHome home;
  REQUIRE(rvg::LoadOrCreateHostKeys(home.path()).ok());
  ::unlink(home.file("curve.key").c_str());
  rvg::Result<rvg::CurveKeyPair> keys = rvg::LoadOrCreateHostKeys(home.path());
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.status().message().find("secret key is lost") != std::string::npos);
}

TEST_CASE("A damaged secret key file is refused") {
  TempHome home;
  REQUIRE(rvg::LoadOrCreateHostKeys(home.path()).ok());
  {
    std::ofstream out(home.file("curve.key"), std::ios::trunc);
    out << "not a key\n";
  }
  rvg::Result<rvg::CurveKeyPair> keys = rvg::LoadOrCreateHostKeys(home.path());
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.status().message().find("does not hold a CURVE key") != std::string::npos);
}

TEST_CASE("Pinned keys must be Z85 public keys") {
  CHECK_FALSE(rvg::CheckPublicKey("", "--peer-key").ok());
  CHECK_FALSE(rvg::CheckPublicKey("short", "--peer-key").ok());
  CHECK_FALSE(rvg::CheckPublicKey(std::string(40, '"'), "--peer-key").ok());  // not Z85
  CHECK_FALSE(rvg::CheckPublicKey(std::string(41, 'a'), "--peer-key").ok());
  CHECK(rvg::CheckPublicKey(std::string(40, 'a'), "--peer-key").ok());
  CHECK(rvg::CheckPublicKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "--peer-key").ok());
  rvg::Status bad = rvg::CheckPublicKey("bad key\n", "--peer-key");
  CHECK(bad.message().find("--peer-key must be a CURVE public key") == 0);
}

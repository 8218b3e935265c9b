#include "cli/rvgd/metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <cstring>

#include "cli/common/metrics_text.h"
#include "cli/rvgd/own_status.h"

namespace rvg {

namespace {

constexpr unsigned kMaxConnections = 8;
constexpr unsigned kConnectionTimeout = 10;       // seconds
constexpr size_t kConnectionMemory = 64 * 1024;   // bytes per connection
constexpr int kStatusTimeoutMs = 3000;
constexpr std::chrono::milliseconds kCacheFor{1000};

// "ADDR:PORT" or "[ADDR]:PORT", numeric only: a name to resolve at start
// would make the endpoint depend on DNS.
Result<sockaddr_storage> ParseAddress(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return Status::Error("--metrics " + text + ": " + why + " (expected ADDR:PORT, e.g. "
                         "127.0.0.1:9712 or [::1]:9712)", EINVAL);
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return bad("no port");
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), text.substr(colon + 1).c_str(), &hints, &found);
  if (rc != 0) return bad(::gai_strerror(rc));
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  return address;
}

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/,
                  size_t* upload_data_size, void** /*req_cls*/) {
  const auto* server = static_cast<const MetricsServer*>(cls);
  unsigned code = MHD_HTTP_OK;
  std::string body;
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 || *upload_data_size != 0) {
    code = MHD_HTTP_METHOD_NOT_ALLOWED;
    body = "only GET /metrics\n";
  } else if (std::strcmp(url, "/metrics") != 0) {
    code = MHD_HTTP_NOT_FOUND;
    body = "not found: the metrics are at /metrics\n";
  } else {
    try {
      body = server->Scrape(&code);
    } catch (const std::exception& e) {  // nothing a scrape meets may end rvgd
      code = MHD_HTTP_INTERNAL_SERVER_ERROR;
      body = std::string("cannot render the metrics: ") + e.what() + "\n";
    }
  }
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          code == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
                                              : "text/plain; charset=utf-8");
  const MHD_Result queued = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

MetricsServer::MetricsServer(std::string control_endpoint)
    : endpoint_(std::move(control_endpoint)) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            std::string control_endpoint) {
  Result<sockaddr_storage> parsed = ParseAddress(address);
  if (!parsed.ok()) return parsed.status();
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(control_endpoint)));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (parsed->ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  server->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Answer, server.get(), MHD_OPTION_SOCK_ADDR, &*parsed,
      MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_CONNECTION_TIMEOUT,
      kConnectionTimeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return Status::Error("--metrics " + address + ": cannot listen there (in use, or not an "
                         "address of this host)", EADDRINUSE);
  }
  spdlog::info("metrics: http://{}/metrics", address);
  return server;
}

MetricsServer::~MetricsServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

std::string MetricsServer::Scrape(unsigned* http_status) const {
  // Scrapes within kCacheFor share one status: however often the port is
  // hit, rvgd's main loop answers at most one status a second for it.
  std::lock_guard<std::mutex> lock(cache_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (cached_at_ && now - *cached_at_ < kCacheFor) {
    *http_status = MHD_HTTP_OK;
    return cached_;
  }
  Result<nlohmann::json> status = AskOwnStatus(endpoint_, kStatusTimeoutMs);
  if (!status.ok()) {
    *http_status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return "rvgd did not answer its status in time: " + status.status().message() + "\n";
  }
  cached_ = MetricsText(*status);
  cached_at_ = now;
  *http_status = MHD_HTTP_OK;
  return cached_;
}

}  // namespace rvg

#include <core/health/http.hpp>

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace berth::health {

namespace {

struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using List = std::unique_ptr<curl_slist, ListDeleter>;

// One probe in flight.
struct Transfer {
  const Probe* probe = nullptr;
  std::unique_ptr<CURL, EasyDeleter> easy;
  List headers;
  List connect_to;
  std::string body;
  std::size_t max_body = 0;
  char error[CURL_ERROR_SIZE] = {};
  std::string setup_error;               // the probe could not even start
  ProbeResult result;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->body.size() < t->max_body) t->body.append(data, std::min(n, t->max_body - t->body.size()));
  return n;  // the rest is drained, not kept: a large body is not an error
}

List make_list(const std::vector<std::string>& items) {
  curl_slist* list = nullptr;
  for (const auto& item : items) {
    curl_slist* next = curl_slist_append(list, item.c_str());
    if (next == nullptr) {
      curl_slist_free_all(list);
      return nullptr;
    }
    list = next;
  }
  return List(list);
}

// "host:port" (or "[v6]:port", optionally "tcp://...") as the URL curl connects to.
std::expected<std::string, std::string> tcp_url(std::string_view target) {
  if (target.starts_with("tcp://")) target.remove_prefix(6);
  const auto colon = target.rfind(':');
  const auto port = colon == std::string_view::npos ? std::string_view{} : target.substr(colon + 1);
  if (colon == 0 || port.empty() || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::unexpected(fmt::format("'{}' is not host:port", target));
  }
  return fmt::format("http://{}/", target);
}

// Time left on the leaf certificate of the connection, from CURLINFO_CERTINFO.
std::optional<std::chrono::milliseconds> certificate_expiration(CURL* easy) {
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &info) != CURLE_OK || info == nullptr || info->num_of_certs < 1) {
    return std::nullopt;
  }
  for (const curl_slist* item = info->certinfo[0]; item != nullptr; item = item->next) {
    const std::string_view line = item->data;
    if (!line.starts_with("Cert:")) continue;
    const auto pem = line.substr(5);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!bio) return std::nullopt;
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!cert) return std::nullopt;
    int days = 0;
    int seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert.get())) != 1) return std::nullopt;
    return std::chrono::milliseconds((static_cast<long long>(days) * 86400 + seconds) * 1000);
  }
  return std::nullopt;
}

std::chrono::milliseconds info_ms(CURL* easy, CURLINFO what) {
  curl_off_t us = 0;
  curl_easy_getinfo(easy, what, &us);
  return std::chrono::milliseconds((us + 500) / 1000);
}

// Sets the options of `t`; returns false (with t.setup_error) when the probe is invalid.
bool configure(Transfer& t) {
  const Probe& p = *t.probe;
  CURL* e = t.easy.get();
  std::string url = p.target;
  if (p.kind == ProbeKind::tcp) {
    auto u = tcp_url(p.target);
    if (!u) {
      t.setup_error = u.error();
      return false;
    }
    url = *u;
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  } else {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      t.setup_error = fmt::format("'{}' is not an http:// or https:// URL", url);
      return false;
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &write_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "berth-health/" BERTH_VERSION);
    if (p.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (p.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, p.method.c_str());
    }
    t.headers = make_list(p.headers);
    if (t.headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers.get());
    if (url.starts_with("https://")) curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  }
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  t.connect_to = make_list(p.connect_to);
  if (t.connect_to) curl_easy_setopt(e, CURLOPT_CONNECT_TO, t.connect_to.get());
  if (!p.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, p.ca_file.c_str());
  if (p.tls_verify == TlsVerify::skip) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(p.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(p.timeout.count()));
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // Each check measures its own connection (and sees the certificate): no reuse.
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  return true;
}

void finish(Transfer& t, CURLcode code) {
  CURL* e = t.easy.get();
  auto& o = t.result.observation;
  const bool ok = code == CURLE_OK;
  o.connected = ok;
  t.result.duration = info_ms(e, CURLINFO_TOTAL_TIME_T);
  if (!ok) t.result.error = t.error[0] != '\0' ? std::string(t.error) : std::string(curl_easy_strerror(code));
  if (t.probe->kind == ProbeKind::tcp) {
    if (ok) o.response_time = info_ms(e, CURLINFO_CONNECT_TIME_T);
    return;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status > 0) o.status = static_cast<int>(status);
  if (ok) {
    o.body = std::move(t.body);
    o.response_time = t.result.duration;
  }
  o.certificate_expiration = certificate_expiration(e);
}

}  // namespace

std::expected<std::vector<ProbeResult>, Error> run_probes(std::span<const Probe> probes) {
  static std::once_flag init;
  static CURLcode init_code = CURLE_OK;
  std::call_once(init, [] { init_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_code != CURLE_OK) {
    return std::unexpected(Error(fmt::format("cannot initialise libcurl: {}", curl_easy_strerror(init_code))));
  }
  // Declared before the multi handle so that it outlives them: on an early return the
  // multi handle is cleaned up first, which detaches the easy handles still in it.
  std::vector<Transfer> transfers(probes.size());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!multi) return std::unexpected(Error("cannot initialise libcurl: curl_multi_init failed"));

  for (std::size_t i = 0; i < probes.size(); ++i) {
    auto& t = transfers[i];
    t.probe = &probes[i];
    t.max_body = probes[i].max_body;
    t.easy.reset(curl_easy_init());
    if (!t.easy) return std::unexpected(Error("cannot initialise libcurl: curl_easy_init failed"));
    if (!configure(t)) continue;
    if (const auto mc = curl_multi_add_handle(multi.get(), t.easy.get()); mc != CURLM_OK) {
      return std::unexpected(Error(fmt::format("cannot start a health check: {}", curl_multi_strerror(mc))));
    }
  }

  auto drain = [&] {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      finish(*t, msg->data.result);
      curl_multi_remove_handle(multi.get(), msg->easy_handle);
    }
  };
  int running = 0;
  do {
    if (const auto mc = curl_multi_perform(multi.get(), &running); mc != CURLM_OK) {
      return std::unexpected(Error(fmt::format("health checks failed in libcurl: {}", curl_multi_strerror(mc))));
    }
    drain();
    if (running > 0) curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
  } while (running > 0);
  drain();

  std::vector<ProbeResult> results;
  results.reserve(transfers.size());
  for (auto& t : transfers) {
    if (!t.setup_error.empty()) {
      t.result.error = std::move(t.setup_error);
      t.result.observation.connected = false;
    }
    results.push_back(std::move(t.result));
  }
  return results;
}

std::string http_library_version() { return curl_version_info(CURLVERSION_NOW)->version; }

}  // namespace berth::health

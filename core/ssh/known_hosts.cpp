#include <core/ssh/connect_steps.hpp>

#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <vector>

namespace berth::ssh {

namespace {

struct EntryFree {
  void operator()(ssh_knownhosts_entry* entry) const { ssh_knownhosts_entry_free(entry); }
};

// "ED25519 key SHA256:..." of the server's key.
std::expected<std::string, std::string> describe(ssh_session session) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK) {
    return std::unexpected(std::string(ssh_get_error(session)));
  }
  KeyPtr key(raw);
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != 0) {
    return std::unexpected(std::string("cannot hash the server key"));
  }
  char* fingerprint = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  std::string type = ssh_key_type_to_char(ssh_key_type(key.get()));
  if (type.starts_with("ssh-")) type = type.substr(4);
  for (auto& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string text = fmt::format("{} key {}", type, fingerprint != nullptr ? fingerprint : "?");
  ssh_string_free_char(fingerprint);
  return text;
}

// "FILE:LINE" of the known_hosts lines recorded for this host (hashed or not),
// or the file alone when no line names it.
std::string where_known(ssh_session session, const std::string& known_hosts) {
  char* raw_host = nullptr;
  if (ssh_options_get(session, SSH_OPTIONS_HOST, &raw_host) != SSH_OK) return known_hosts;
  std::string host = raw_host;
  ssh_string_free_char(raw_host);
  unsigned port = 22;
  ssh_options_get_port(session, &port);
  if (port != 22) host = fmt::format("[{}]:{}", host, port);

  std::string places;
  for (const std::string& file : {known_hosts, std::string("/etc/ssh/ssh_known_hosts")}) {
    for (const int line : lines_naming(file, host)) {
      places += fmt::format("{}{}:{}", places.empty() ? "" : ", ", file, line);
    }
  }
  return places.empty() ? known_hosts : places;
}

}  // namespace

std::vector<int> lines_naming(const std::filesystem::path& path, const std::string& host) {
  std::vector<int> numbers;
  std::ifstream in(path);
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    const auto start = text.find_first_not_of(" \t");
    if (start == std::string::npos || text[start] == '#') continue;
    ssh_knownhosts_entry* raw = nullptr;
    // SSH_OK only when the line's host patterns (plain, wildcard or hashed) match.
    if (ssh_known_hosts_parse_line(host.c_str(), text.c_str() + start, &raw) == SSH_OK) {
      numbers.push_back(number);
    }
    ssh_knownhosts_entry_free(raw);
  }
  return numbers;
}

std::expected<void, Error> verify_host_key(ssh_session session, const Target& target,
                                           HostKeyPolicy policy, const std::string& known_hosts) {
  const auto fail = [&](std::string what, std::string hint) {
    return std::unexpected(Error(fmt::format("{}: host key: {}", target.name, what),
                                 ExitCode::unreachable, std::move(hint)));
  };
  const auto key = describe(session);
  if (!key) return fail(key.error(), "");

  switch (ssh_session_is_known_server(session)) {
    case SSH_KNOWN_HOSTS_OK:
      return {};
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return fail(fmt::format("the server's {} does not match the key recorded at {}: someone "
                              "may be intercepting the connection, or the server was reinstalled",
                              *key, where_known(session, known_hosts)),
                  "if the server was reinstalled, check the new fingerprint with its provider, "
                  "delete that line, then run with --accept-new-host-keys");
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
      if (policy == HostKeyPolicy::accept_new) {
        if (ssh_session_update_known_hosts(session) != SSH_OK) {
          return fail(fmt::format("cannot record the server's {} in {}: {}", *key, known_hosts,
                                  ssh_get_error(session)),
                      "check that the file is writable");
        }
        return {};
      }
      return fail(fmt::format("the server's {} is not in {}", *key, known_hosts),
                  "check that fingerprint (on the server: `ssh-keygen -lf "
                  "/etc/ssh/ssh_host_ed25519_key.pub`), then run again with "
                  "--accept-new-host-keys to record it");
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  return fail(fmt::format("cannot check the server's {} against {}: {}", *key, known_hosts,
                          ssh_get_error(session)),
              "check that the file is readable");
}

}  // namespace berth::ssh

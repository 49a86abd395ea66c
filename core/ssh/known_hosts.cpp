#include <core/ssh/connect_steps.hpp>

#include <fmt/format.h>

#include <fstream>
#include <memory>

namespace berth::ssh {

namespace {

struct KeyFree {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
struct EntryFree {
  void operator()(ssh_knownhosts_entry* entry) const { ssh_knownhosts_entry_free(entry); }
};

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// "ED25519 key SHA256:..." of the server's key.
std::expected<std::string, std::string> describe(ssh_session session) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK) {
    return std::unexpected(std::string(ssh_get_error(session)));
  }
  std::unique_ptr<ssh_key_struct, KeyFree> key(raw);
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

// "FILE:LINE" of the entry libssh matched for this host, or the file alone.
std::string where_known(ssh_session session, const std::string& known_hosts) {
  ssh_knownhosts_entry* raw = nullptr;
  ssh_session_get_known_hosts_entry(session, &raw);
  std::unique_ptr<ssh_knownhosts_entry, EntryFree> entry(raw);
  if (entry == nullptr || entry->unparsed == nullptr) return known_hosts;
  for (const std::string& file : {known_hosts, std::string("/etc/ssh/ssh_known_hosts")}) {
    if (const int line = find_line(file, entry->unparsed); line > 0) {
      return fmt::format("{}:{}", file, line);
    }
  }
  return known_hosts;
}

}  // namespace

int find_line(const std::filesystem::path& path, std::string_view line) {
  std::ifstream in(path);
  std::string text;
  const auto wanted = trim_right(line);
  for (int number = 1; std::getline(in, text); ++number) {
    if (trim_right(text) == wanted) return number;
  }
  return 0;
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

#include <core/ssh/connect_steps.hpp>
#include <core/ssh/text.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unistd.h>
#include <vector>

namespace berth::ssh {

namespace {

// Passphrase prompts from hosts connecting in parallel are asked one at a time.
std::mutex prompt_mutex;

int ask_passphrase(const char* prompt, char* buf, size_t len, int echo, int verify, void*) {
  std::lock_guard lock(prompt_mutex);
  return ssh_getpass(prompt, buf, len, echo, verify);
}

// The identity files to try, in order, without duplicates: the manifest's, the
// first IdentityFile of ssh_config, then the default files that exist.
std::vector<std::string> identity_files(ssh_session session, const Target& target) {
  std::vector<std::string> files;
  const auto add = [&](std::string path) {
    if (!path.empty() && std::find(files.begin(), files.end(), path) == files.end()) {
      files.push_back(std::move(path));
    }
  };
  add(expand_home(target.identity_file));
  char* configured = nullptr;
  if (ssh_options_get(session, SSH_OPTIONS_IDENTITY, &configured) == SSH_OK) {
    std::string path = configured;
    ssh_string_free_char(configured);
    if (path.starts_with("%d/")) path = "~/.ssh/" + path.substr(3);
    path = expand_ssh_home(path);
    // libssh's own defaults come back as the first identity: only keep real files.
    if (std::filesystem::exists(path)) add(path);
  }
  for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
    auto path = expand_ssh_home(std::string("~/.ssh/") + name);
    if (std::filesystem::exists(path)) add(path);
  }
  return files;
}

}  // namespace

std::expected<void, Error> authenticate(ssh_session session, const Target& target,
                                        std::string_view user) {
  const auto where = fmt::format("{}@{}", user, target.address);
  const auto fail = [&](std::string what, std::string hint) {
    return std::unexpected(Error(fmt::format("{}: auth: {}", target.name, what),
                                 ExitCode::unreachable, std::move(hint)));
  };
  int rc = ssh_userauth_none(session, nullptr);
  if (rc == SSH_AUTH_SUCCESS) return {};
  if (rc == SSH_AUTH_ERROR) return fail(ssh_get_error(session), "");
  if ((ssh_userauth_list(session, nullptr) & SSH_AUTH_METHOD_PUBLICKEY) == 0) {
    return fail(fmt::format("{} does not accept public keys", where),
                "berth logs in with SSH keys only: allow PubkeyAuthentication on the server");
  }

  std::vector<std::string> tried;
  if (const char* agent = std::getenv("SSH_AUTH_SOCK"); agent != nullptr && *agent != '\0') {
    rc = ssh_userauth_agent(session, nullptr);
    if (rc == SSH_AUTH_SUCCESS) return {};
    if (rc == SSH_AUTH_ERROR && !ssh_is_connected(session)) {
      return fail(ssh_get_error(session), "");
    }
    tried.push_back(fmt::format("ssh-agent at {}: no key accepted", agent));
  } else {
    tried.emplace_back("ssh-agent: not running (SSH_AUTH_SOCK is not set)");
  }

  const bool tty = isatty(STDIN_FILENO) != 0;
  const auto files = identity_files(session, target);
  for (const auto& file : files) {
    if (!std::filesystem::exists(file)) {
      tried.push_back(fmt::format("{}: no such file", file));
      continue;
    }
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(file.c_str(), nullptr, tty ? ask_passphrase : nullptr,
                                    nullptr, &raw) != SSH_OK) {
      tried.push_back(fmt::format(
          "{}: cannot be loaded ({})", file,
          tty ? "wrong passphrase or not a private key"
              : "needs a passphrase and there is no terminal to ask it, or not a private key"));
      continue;
    }
    KeyPtr key(raw);
    rc = ssh_userauth_publickey(session, nullptr, key.get());
    if (rc == SSH_AUTH_SUCCESS) return {};
    if (rc == SSH_AUTH_ERROR && !ssh_is_connected(session)) {
      return fail(ssh_get_error(session), "");
    }
    tried.push_back(fmt::format("{}: refused by the server", file));
  }
  if (files.empty()) {
    tried.emplace_back("identity files: none (no identity_file, no IdentityFile in ssh_config, "
                       "no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)");
  }

  std::string list;
  for (const auto& line : tried) list += "\n  - " + line;
  return fail(fmt::format("{} accepted none of berth's keys; tried:{}", where, list),
              fmt::format("add the key to ssh-agent (ssh-add) or set identity_file in "
                          "[servers.{}]; its public key must be in ~{}/.ssh/authorized_keys",
                          target.name, user));
}

}  // namespace berth::ssh

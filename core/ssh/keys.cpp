#include <core/ssh/keys.hpp>
#include <core/ssh/connect_steps.hpp>

#include <libssh/libssh.h>

#include <fmt/format.h>

#include <memory>

namespace berth::ssh {

namespace {

// Takes a string libssh allocated.
std::string take(char* text) {
  std::string out = text != nullptr ? text : "";
  ssh_string_free_char(text);
  return out;
}

}  // namespace

std::string generate_ed25519_key() {
  ssh_key raw = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK)
    throw Error("could not make an ed25519 key (libssh's ssh_pki_generate failed)", ExitCode::internal);
  const KeyPtr key(raw);
  char* text = nullptr;
  if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &text) != SSH_OK)
    throw Error("could not write an ed25519 key (libssh's ssh_pki_export_privkey_base64 failed)", ExitCode::internal);
  auto out = take(text);
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

std::expected<std::string, Error> public_key_of(std::string_view private_key) {
  const std::string text(private_key);
  ssh_key raw = nullptr;
  if (ssh_pki_import_privkey_base64(text.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
    return std::unexpected(Error("the value is not an SSH private key libssh can read"));
  const KeyPtr key(raw);
  ssh_key pub_raw = nullptr;
  if (ssh_pki_export_privkey_to_pubkey(key.get(), &pub_raw) != SSH_OK)
    return std::unexpected(Error("could not derive the public key of an SSH private key"));
  const KeyPtr pub(pub_raw);
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(pub.get(), &b64) != SSH_OK)
    return std::unexpected(Error("could not write the public key of an SSH private key"));
  return fmt::format("{} {}", ssh_key_type_to_char(ssh_key_type(pub.get())), take(b64));
}

}  // namespace berth::ssh

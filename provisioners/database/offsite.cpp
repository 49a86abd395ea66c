// offsite: the [backups] restic repository (docs/databases.md, "Off-host backups"), on
// a backup server over SFTP, in an S3-compatible bucket, or on an SSH server berth does
// not manage (the operator's key and its host key from the manifest). The backup server gets an SFTP-only, chrooted user whose one authorized key is the
// public half of a key berth makes; the db servers get restic, that key, the backup
// server's host key as read from its sshd, the repository's password, and the wrapper
// every backup script runs restic through. The password is made on the primary db
// server and kept by the backup server too, so a db server set up afresh gets it back.
#include <core/error.hpp>
#include <core/manifest/schedule.hpp>
#include <core/output/redact.hpp>
#include <core/render.hpp>
#include <core/util/text.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

#include <tuple>

namespace berth::provisioners {

using namespace converge;

namespace {

constexpr const char* backups_component = "backups";

// The name the db servers know the backup server's host key by (HostKeyAlias), so that
// known_hosts holds no address.
std::string host_key_alias(const manifest::Manifest& m) { return "berth-backup-" + m.offsite->server; }

// Read by sshd as the user, so outside berth's root-only folders.
std::string authorized_keys(const manifest::Manifest& m) {
  return fmt::format("/etc/ssh/berth-backup-{}.authorized_keys", m.app.name);
}

void add_backup_server(const manifest::Manifest& m, Desired& out) {
  const auto user = layout::offsite_user(m);
  const auto chroot = layout::offsite_chroot(m);
  // sshd's chroot must be root's all the way down; the repository inside is the user's.
  add_once(out, make(Directory{.path = "/srv/berth-backup", .mode = "0755"}, backups_component));
  out.resources.push_back(make(Directory{.path = chroot, .mode = "0755"}, backups_component));
  out.resources.push_back(make(User{.name = user, .home = chroot}, backups_component));
  out.resources.push_back(make(Directory{.path = chroot + layout::offsite_repository, .owner = user,
                                         .group = user, .mode = "0700"},
                               backups_component));
  out.resources.push_back(make(
      File{.path = authorized_keys(m),
           .content = fmt::format("# Managed by berth: the db servers of {} (restic over SFTP).\n"
                                  "restrict {}\n",
                                  m.app.name, converge::secret_public_placeholder(layout::offsite_key_secret))},
      backups_component));
  kainjow::mustache::data d;
  d.set("app", m.app.name);
  d.set("user", user);
  d.set("chroot", chroot);
  d.set("authorized_keys", authorized_keys(m));
  out.resources.push_back(
      make(File{.path = fmt::format("/etc/ssh/sshd_config.d/60-berth-backup-{}.conf", m.app.name),
                .content = render_template(m.dir, "database/backup-server-sshd.conf.mustache", d),
                .validate = "/usr/sbin/sshd -t"},
           backups_component, {"reexec:ssh.service"}));
  // What the db servers check the backup server by: its sshd's own ed25519 host key.
  out.secrets.push_back({.name = layout::offsite_host_key_secret, .path = "/etc/ssh/ssh_host_ed25519_key.pub",
                         .kind = SecretKind::found});
  // Only its public half is used here: no copy of the key stays on the backup server.
  out.secrets.push_back({.name = layout::offsite_key_secret, .owner = database_server(m)->name,
                         .kind = SecretKind::ssh_key});
  // A copy of the generated password, for a db server set up afresh.
  if (m.offsite->key.empty()) {
    out.secrets.push_back({.name = layout::offsite_password_secret,
                           .path = secret_path(m, layout::offsite_password_secret),
                           .owner = database_server(m)->name});
  }
}

// Resolves a [backups] value that may hold references, or throws at its place.
std::string resolved(const manifest::Offsite& o, const std::string& value, std::string_view what,
                     manifest::SecretSources& secrets) {
  auto v = manifest::resolve_value(value, secrets);
  if (!v) {
    throw Error(fmt::format("{}:{}:{}: [backups] {}: {}", o.where.file, o.where.line, o.where.column, what,
                            v.error().what()),
                v.error().code(), v.error().hint());
  }
  return v->reveal();
}

// The repository's password: the operator's (`key`), else the generated secret, made on
// the primary and kept by every db server (and the backup server).
void add_password(const manifest::Manifest& m, manifest::SecretSources& secrets, Desired& out) {
  const auto path = secret_path(m, layout::offsite_password_secret);
  if (m.offsite->key.empty()) {
    out.secrets.push_back({.name = layout::offsite_password_secret, .path = path, .owner = database_server(m)->name});
    return;
  }
  // A password however it was given (${env:} too): redacted wherever it would show.
  const auto key = resolved(*m.offsite, m.offsite->key, "key", secrets);
  register_secret_value(key);
  out.resources.push_back(make(File{.path = path,
                                    .content = key,
                                    .mode = "0600",
                                    .sensitive = Sensitive::yes},
                               backups_component));
}

// SFTP to the backup server: berth's key, and its host key as read from its sshd.
void add_sftp_client(const manifest::Manifest& m, const std::string& dir, kainjow::mustache::data& d, Desired& out) {
  const auto& target = *m.find_server(m.offsite->server);
  add_once(out, make(Package{"openssh-client"}, backups_component));
  out.resources.push_back(make(
      File{.path = dir + "/known_hosts",
           .content = fmt::format("{} {}\n", host_key_alias(m),
                                  secret_placeholder(layout::offsite_host_key_secret)),
           .mode = "0600"},
      backups_component));
  out.secrets.push_back({.name = layout::offsite_key_secret, .path = dir + "/id_ed25519",
                         .owner = database_server(m)->name, .kind = SecretKind::ssh_key});
  // The backup server's ed25519 host key, the one the wrapper asks for (HostKeyAlgorithms).
  out.secrets.push_back({.name = layout::offsite_host_key_secret, .path = dir + "/host_key.pub",
                         .owner = target.name, .kind = SecretKind::found});
  d.set("sftp", true);
  d.set("server", target.name);
  d.set("user", layout::offsite_user(m));
  d.set("repository", layout::offsite_repository);
  d.set("port", std::to_string(target.port));
  d.set("alias", host_key_alias(m));
  d.set("address", target.internal_address());
  d.set("host_key_type", std::string("ssh-ed25519"));
}

// SFTP to a server berth does not manage: the operator's key and the host key the
// manifest gives, nothing else trusted.
void add_external_sftp_client(const manifest::Manifest& m, const std::string& dir, manifest::SecretSources& secrets,
                              kainjow::mustache::data& d, Desired& out) {
  const auto& t = *m.offsite->sftp;
  add_once(out, make(Package{"openssh-client"}, backups_component));
  auto key = resolved(*m.offsite, t.key, "sftp key", secrets);
  register_secret_value(key);
  // OpenSSH refuses a private key file without its final line end.
  if (!key.ends_with('\n')) key += '\n';
  out.resources.push_back(make(
      File{.path = dir + "/id_sftp", .content = key, .mode = "0600", .sensitive = Sensitive::yes}, backups_component));
  const auto alias = "berth-backup-" + t.address;
  out.resources.push_back(
      make(File{.path = dir + "/known_hosts", .content = fmt::format("{} {}\n", alias, t.host_key), .mode = "0600"},
           backups_component));
  d.set("sftp", true);
  d.set("server", t.address);
  d.set("user", t.user);
  d.set("repository", t.path);
  d.set("port", std::to_string(t.port));
  d.set("alias", alias);
  d.set("address", t.address);
  d.set("identity", dir + "/id_sftp");
  d.set("host_key_type", t.host_key.substr(0, t.host_key.find(' ')));
}

// An S3-compatible bucket: its keys in a root-only environment file the wrapper reads.
void add_s3_client(const manifest::Manifest& m, const std::string& dir, manifest::SecretSources& secrets,
                   kainjow::mustache::data& d, Desired& out) {
  const auto& s3 = *m.offsite->s3;
  std::string env = "# Managed by berth: the S3 keys of the off-host repository.\n";
  for (const auto& [name, value, what] :
       {std::tuple<const char*, const std::string&, const char*>{"AWS_ACCESS_KEY_ID", s3.access_key_id,
                                                                 "s3 access_key_id"},
        {"AWS_SECRET_ACCESS_KEY", s3.secret_access_key, "s3 secret_access_key"},
        {"AWS_DEFAULT_REGION", s3.region, "s3 region"}}) {
    const auto v = resolved(*m.offsite, value, what, secrets);
    if (std::string_view(name) == "AWS_SECRET_ACCESS_KEY") register_secret_value(v);
    if (!v.empty()) env += fmt::format("export {}={}\n", name, util::shell_quote(v));
  }
  out.resources.push_back(
      make(File{.path = dir + "/s3.env", .content = env, .mode = "0600", .sensitive = Sensitive::yes}, backups_component));
  if (!s3.ca_cert.empty()) {
    auto pem = resolved(*m.offsite, s3.ca_cert, "s3 ca_cert", secrets);
    if (!pem.ends_with('\n')) pem += '\n';
    out.resources.push_back(make(File{.path = dir + "/s3-ca.pem", .content = pem}, backups_component));
    d.set("s3_ca", dir + "/s3-ca.pem");
  }
  d.set("s3_env", dir + "/s3.env");
  d.set("s3_repository", fmt::format("s3:{}/{}/{}", s3.endpoint, s3.bucket, m.app.name));
  d.set("target", fmt::format("{}/{}", s3.endpoint, s3.bucket));
}

void add_db_server(const manifest::Manifest& m, const manifest::Server& s, manifest::SecretSources& secrets,
                   Desired& out) {
  const auto dir = layout::offsite_dir(m);
  for (const char* p : {"restic", "jq"}) add_once(out, make(Package{p}, backups_component));
  out.resources.push_back(make(Directory{.path = dir, .mode = "0700"}, backups_component));
  const auto cache = fmt::format("/var/cache/berth/{}", m.app.name);
  for (const auto& path : {cache, cache + "/restic", layout::offsite_records_dir(m)}) {
    add_once(out, make(Directory{.path = path, .mode = "0700"}, backups_component));
  }
  add_password(m, secrets, out);

  kainjow::mustache::data d;
  d.set("app", m.app.name);
  d.set("wrapper", layout::restic_wrapper(m));
  d.set("password_file", secret_path(m, layout::offsite_password_secret));
  d.set("cache_dir", cache + "/restic");
  d.set("dir", dir);
  d.set("identity", dir + "/id_ed25519");
  if (m.offsite->s3) {
    add_s3_client(m, dir, secrets, d, out);
  } else if (m.offsite->sftp) {
    add_external_sftp_client(m, dir, secrets, d, out);
  } else {
    add_sftp_client(m, dir, d, out);
  }
  out.resources.push_back(make(File{.path = layout::restic_wrapper(m),
                                    .content = render_template(m.dir, "database/restic.sh.mustache", d),
                                    .mode = "0750",
                                    .validate = "sh -n {}"},
                               backups_component));

  // A failed backup, verification or check reaches the journal and the webhook.
  const auto webhook = resolved(*m.offsite, m.offsite->on_failure_webhook, "on_failure_webhook", secrets);
  add_failure_reporter(m, out);
  std::vector<std::string> units;
  for (const auto& db : m.databases) {
    if (!db.backups.enabled) continue;
    units.push_back(layout::backup_unit(m, db));
    if (db.backups.verify) units.push_back(layout::verify_unit(m, db));
  }
  // The repository is checked and pruned from one server: the primary.
  const bool checker = database_server(m)->name == s.name;
  if (checker) units.push_back(layout::offsite_check_unit(m));
  for (const auto& unit : units) out.resources.push_back(failure_webhook(m, "unit." + unit, webhook, backups_component));
  if (!checker) return;

  const auto unit = layout::offsite_check_unit(m);
  const auto on_calendar = manifest::to_on_calendar(m.offsite->check);
  kainjow::mustache::data c;
  c.set("app", m.app.name);
  c.set("unit", unit);
  c.set("wrapper", layout::restic_wrapper(m));
  c.set("on_calendar", on_calendar ? *on_calendar : m.offsite->check);
  add_timed_service(out, unit, render_template(m.dir, "database/backup-check.service.mustache", c),
                    render_template(m.dir, "database/backup-check.timer.mustache", c), backups_component);
  out.resources.push_back(make(Unit{unit + ".timer"}, backups_component));
}

}  // namespace

void add_offsite(const manifest::Manifest& m, const manifest::Server& s, manifest::SecretSources& secrets,
                 Desired& out) {
  if (!m.offsite || database_server(m) == nullptr) return;
  const bool sftp = m.find_server(m.offsite->server) != nullptr;
  if (!sftp && !m.offsite->s3 && !m.offsite->sftp) return;
  if (sftp && s.has_role("backup")) add_backup_server(m, out);
  if (s.has_role("db")) add_db_server(m, s, secrets, out);
}

}  // namespace berth::provisioners

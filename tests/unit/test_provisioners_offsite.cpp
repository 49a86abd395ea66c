#include <core/converge/desired.hpp>
#include <core/util/process.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace berth;
using namespace berth::converge;
using berth::test::has;
using berth::test::find;
using berth::test::spec;
using berth::test::content;

namespace {

// web holds everything but the copies (no roles: db, app and proxy), vault the
// repository; one PostgreSQL database, verified weekly.
manifest::Manifest offsite() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.servers = {{.name = "vault", .address = "198.18.0.9", .port = 2222, .roles = {"backup"}},
               {.name = "web", .address = "198.18.0.2"}};
  m.databases = {{.key = "main",
                  .engine = manifest::Engine::postgresql,
                  .name = "shop",
                  .user = "shop",
                  .env_var = "DATABASE_URL"}};
  m.databases[0].backups.verify =
      manifest::Verify{.query = "SELECT count(*) FROM users", .min = 10, .schedule = "weekly"};
  m.offsite = manifest::Offsite{.server = "vault",
                                .keep_daily = 3,
                                .keep_weekly = 2,
                                .keep_monthly = 1,
                                .check = "Sun 04:00",
                                .on_failure_webhook = "${secret:BACKUP_HOOK}"};
  return m;
}

// The same with the database on db1 and db2 (two db servers, no replication), the app
// and nginx on web.
manifest::Manifest two_db_servers() {
  auto m = offsite();
  m.servers = {{.name = "db1", .address = "198.18.0.3", .roles = {"db"}},
               {.name = "db2", .address = "198.18.0.4", .roles = {"db"}},
               {.name = "vault", .address = "198.18.0.9", .port = 2222, .roles = {"backup"}},
               {.name = "web", .address = "198.18.0.2", .roles = {"app", "proxy"}}};
  return m;
}

const manifest::Server& server(const manifest::Manifest& m, std::string_view name) {
  const auto* s = m.find_server(name);
  REQUIRE(s);
  return *s;
}

// The whole desired state of server `name`; ${secret:BACKUP_HOOK} is a webhook URL.
provisioners::Desired state_of(const manifest::Manifest& m, std::string_view name) {
  manifest::SecretSources secrets(m, [](const std::string& key) -> std::optional<std::string> {
    if (key == "BACKUP_HOOK") return "https://hooks.test/T0KEN";
    return std::nullopt;
  });
  return provisioners::desired_state(m, server(m, name), secrets);
}

const GeneratedSecret& secret(const provisioners::Desired& d, std::string_view name) {
  const auto it = std::find_if(d.secrets.begin(), d.secrets.end(),
                               [&](const auto& s) { return s.name == name; });
  INFO(name);
  REQUIRE(it != d.secrets.end());
  return *it;
}

bool has_id_starting(const provisioners::Desired& d, std::string_view prefix) {
  return std::any_of(d.resources.begin(), d.resources.end(),
                     [&](const Resource& r) { return r.id().starts_with(prefix); });
}

void check_sh(const std::string& script) {
  const auto checked = run_process({"sh", "-n"}, {.stdin_text = script});
  REQUIRE(checked);
  INFO(checked->err);
  CHECK(checked->exit_code == 0);
}

constexpr const char* backup_script = "/usr/local/lib/berth/shop/db-main";
constexpr const char* wrapper = "/usr/local/lib/berth/shop/restic";

}  // namespace

TEST_CASE(
    "offsite: the backup server gets a chrooted SFTP user that lets in the db servers' key alone") {
  const auto m = offsite();
  const auto d = state_of(m, "vault");

  SECTION("the chroot is root's all the way down, the repository the user's") {
    CHECK(spec<Directory>(d, "directory:/srv/berth-backup").mode == "0755");
    CHECK(spec<Directory>(d, "directory:/srv/berth-backup").owner == "root");
    const auto& chroot = spec<Directory>(d, "directory:/srv/berth-backup/shop");
    CHECK(chroot.owner == "root");
    CHECK(chroot.mode == "0755");
    const auto& repo = spec<Directory>(d, "directory:/srv/berth-backup/shop/repo");
    CHECK(repo.owner == "backup-shop");
    CHECK(repo.group == "backup-shop");
    CHECK(repo.mode == "0700");
    const auto& user = spec<User>(d, "user:backup-shop");
    CHECK(user.home == "/srv/berth-backup/shop");
    CHECK(user.shell == "/usr/sbin/nologin");
  }
  SECTION("one restricted key: the public half of the db servers' generated key") {
    const auto& keys = content(d, "/etc/ssh/berth-backup-shop.authorized_keys");
    CHECK(has(keys, "\nrestrict " + secret_public_placeholder("backup_ssh_key") + "\n"));
    CHECK_FALSE(has(keys, secret_placeholder("backup_ssh_key")));
  }
  SECTION("sshd: SFTP only, in the chroot, validated before it is reloaded") {
    const auto* r = find(d, "file:/etc/ssh/sshd_config.d/60-berth-backup-shop.conf");
    REQUIRE(r);
    const auto& conf = std::get<File>(r->spec);
    CHECK(conf.validate == "/usr/sbin/sshd -t");
    CHECK(std::any_of(r->notify.begin(), r->notify.end(),
                      [](const std::string& h) { return h.ends_with(":ssh.service"); }));
    CHECK(has(conf.content, "Match User backup-shop\n"));
    CHECK(has(conf.content, "ChrootDirectory /srv/berth-backup/shop\n"));
    CHECK(has(conf.content, "ForceCommand internal-sftp\n"));
    CHECK(has(conf.content, "AuthorizedKeysFile /etc/ssh/berth-backup-shop.authorized_keys\n"));
    CHECK(has(conf.content, "PasswordAuthentication no\n"));
    CHECK(has(conf.content, "AllowTcpForwarding no\n"));
    // The Match block ends: base's settings after it apply to every user again.
    CHECK(conf.content.ends_with("Match all\n"));
  }
  SECTION(
      "its sshd's host key is read here; the key and the password are the primary db server's") {
    const auto& host_key = secret(d, "backup_host_key");
    CHECK(host_key.kind == SecretKind::found);
    CHECK(host_key.path == "/etc/ssh/ssh_host_ed25519_key.pub");
    CHECK(host_key.owner == "vault");
    CHECK_FALSE(host_key.copy);
    const auto& key = secret(d, "backup_ssh_key");
    CHECK(key.kind == SecretKind::ssh_key);
    CHECK(key.path.empty());  // no copy of the private key on the backup server
    CHECK(key.owner == "web");
    CHECK(key.copy);
    const auto& password = secret(d, "backup_repository_password");
    CHECK(password.kind == SecretKind::random);
    CHECK(password.path == "/etc/berth/shop/secrets/backup_repository_password");
    CHECK(password.owner == "web");
    CHECK(password.copy);
  }
  SECTION("nothing of the db servers' side, nor the databases themselves") {
    CHECK_FALSE(find(d, "package:restic"));
    CHECK_FALSE(find(d, "package:postgresql"));
    CHECK_FALSE(find(d, "file:/usr/local/lib/berth/shop/restic"));
    CHECK_FALSE(has_id_starting(d, "file:/usr/local/lib/berth/shop/db-"));
    CHECK_FALSE(has_id_starting(d, "unit:shop-"));
  }
  SECTION("without [backups] a server has no backup role by default, and gets nothing of this") {
    auto plain = offsite();
    plain.offsite.reset();
    plain.databases[0].backups.verify.reset();
    plain.servers.erase(plain.servers.begin());
    const auto web = state_of(plain, "web");
    CHECK_FALSE(find(web, "package:restic"));
    CHECK_FALSE(find(web, "user:backup-shop"));
    CHECK_FALSE(find(web, "directory:/etc/berth/shop/backup"));
    CHECK(std::none_of(web.secrets.begin(), web.secrets.end(),
                       [](const auto& s) { return s.name.starts_with("backup_"); }));
  }
}

TEST_CASE(
    "offsite: a db server gets restic, the key, the backup server's host key and the wrapper") {
  const auto m = offsite();
  const auto d = state_of(m, "web");

  for (const auto* p : {"package:restic", "package:jq", "package:openssh-client"})
    CHECK(find(d, p));
  CHECK(spec<Directory>(d, "directory:/etc/berth/shop/backup").mode == "0700");
  CHECK(spec<Directory>(d, "directory:/var/lib/berth/shop/backups").mode == "0700");
  CHECK_FALSE(find(d, "user:backup-shop"));
  CHECK_FALSE(find(d, "file:/etc/ssh/berth-backup-shop.authorized_keys"));

  SECTION("known_hosts names the backup server by its alias, with the host key read there") {
    const auto& known = spec<File>(d, "file:/etc/berth/shop/backup/known_hosts");
    CHECK(known.content == "berth-backup-vault " + secret_placeholder("backup_host_key") + "\n");
    CHECK(known.mode == "0600");
    CHECK_FALSE(has(known.content, "198.18.0.9"));
  }
  SECTION(
      "secrets: the key and the password made here, the host key copied from the backup server") {
    const auto& key = secret(d, "backup_ssh_key");
    CHECK(key.kind == SecretKind::ssh_key);
    CHECK(key.path == "/etc/berth/shop/backup/id_ed25519");
    CHECK(key.owner == "web");
    CHECK_FALSE(key.copy);
    const auto& password = secret(d, "backup_repository_password");
    CHECK(password.path == "/etc/berth/shop/secrets/backup_repository_password");
    CHECK(password.owner == "web");
    CHECK_FALSE(password.copy);
    const auto& host_key = secret(d, "backup_host_key");
    CHECK(host_key.kind == SecretKind::found);
    CHECK(host_key.path == "/etc/berth/shop/backup/host_key.pub");
    CHECK(host_key.owner == "vault");
    CHECK(host_key.copy);
  }
  SECTION("the wrapper: the repository over SFTP, the key and host key alone, under a lock") {
    const auto& w = spec<File>(d, std::string("file:") + wrapper);
    CHECK(w.mode == "0750");
    CHECK(w.validate == "sh -n {}");
    CHECK(has(w.content, "RESTIC_REPOSITORY='sftp:backup-shop@vault:/repo'"));
    CHECK(has(w.content,
              "RESTIC_PASSWORD_FILE='/etc/berth/shop/secrets/backup_repository_password'"));
    CHECK(has(w.content, "-i /etc/berth/shop/backup/id_ed25519 -p 2222 "));
    CHECK(has(w.content, "-o HostKeyAlias=berth-backup-vault "));
    CHECK(has(w.content, "-o UserKnownHostsFile=/etc/berth/shop/backup/known_hosts "));
    CHECK(has(w.content, "-o StrictHostKeyChecking=yes "));
    CHECK(has(w.content, " backup-shop@198.18.0.9 -s sftp'"));
    CHECK(has(w.content, "flock -w 3600 /run/lock/berth-shop-restic.lock restic"));
    check_sh(w.content);
  }
  SECTION("the backup server is reached at its internal address when it has one") {
    auto inner = offsite();
    inner.servers[0].private_address = "10.0.0.9";
    const auto d2 = state_of(inner, "web");
    CHECK(has(content(d2, wrapper), " backup-shop@10.0.0.9 -s sftp'"));
  }
}

TEST_CASE(
    "offsite: with [backups] the backup script streams into restic; without, it is unchanged") {
  const auto m = offsite();
  const auto d = state_of(m, "web");
  const auto& script = content(d, backup_script);
  CHECK(has(script, "restic=/usr/local/lib/berth/shop/restic\n"));
  CHECK(has(script, "tag=db:main\n"));
  CHECK(has(script, "host=web\n"));
  CHECK(has(script, "stdin_name=main.dump\n"));
  CHECK(has(script, "records=/var/lib/berth/shop/backups\n"));
  CHECK(has(script, "--keep-daily 3 --keep-weekly 2 --keep-monthly 1"));
  CHECK(has(
      script,
      "$restic backup --stdin --stdin-filename \"$stdin_name\" --tag \"$tag\" --host \"$host\""));
  CHECK(has(script, "record last \"$(date -u +%s) $snap ${bytes:-0}\""));
  CHECK(has(script, "\n  verify) verify ;;\n"));
  CHECK(has(script, "usage: $0 backup | snapshots | show ID | restore ID | verify"));
  // Streamed: no dump is kept in the local folder's rotation.
  CHECK_FALSE(has(script, "\n  list)\n    for file in"));
  check_sh(script);

  const auto& service = content(d, "/etc/systemd/system/shop-db-main-backup.service");
  CHECK(has(service, "\nOnFailure=shop-job-failed@unit.shop-db-main-backup.service\n"));
  CHECK(has(service, "network-online.target"));

  SECTION("without verify: no verify verb") {
    auto plain = offsite();
    plain.databases[0].backups.verify.reset();
    const auto d2 = state_of(plain, "web");
    const auto& s = content(d2, backup_script);
    CHECK(has(s, "restic=/usr/local/lib/berth/shop/restic\n"));
    CHECK_FALSE(has(s, "verify) verify"));
    CHECK(has(s, "usage: $0 backup | snapshots | show ID | restore ID\" >&2"));
  }
  SECTION("each engine's offsite script is valid sh") {
    for (const auto engine :
         {manifest::Engine::mysql, manifest::Engine::redis, manifest::Engine::mongodb}) {
      auto other = offsite();
      other.databases[0].engine = engine;
      if (engine != manifest::Engine::mysql) other.databases[0].backups.verify.reset();
      const auto d2 = state_of(other, "web");
      const auto& s = content(d2, backup_script);
      CHECK(has(s, "restic=/usr/local/lib/berth/shop/restic\n"));
      check_sh(s);
    }
  }
  SECTION("without [backups]: local dumps, nothing of restic, no OnFailure") {
    auto plain = offsite();
    plain.offsite.reset();
    plain.databases[0].backups.verify.reset();
    plain.servers.erase(plain.servers.begin());
    const auto local = state_of(plain, "web");
    const auto& s = content(local, backup_script);
    CHECK_FALSE(has(s, "restic"));
    CHECK_FALSE(has(s, "@@snapshot"));
    CHECK(has(s, "keep_days=7\n"));
    CHECK(has(s, "usage: $0 backup | list | show FILE | restore FILE"));
    check_sh(s);
    const auto& unit = content(local, "/etc/systemd/system/shop-db-main-backup.service");
    CHECK_FALSE(has(unit, "OnFailure="));
    CHECK_FALSE(has(unit, "network-online.target"));
    CHECK(find(local, "directory:/var/backups/berth/shop/main"));
    CHECK_FALSE(find(local, "file:/etc/systemd/system/shop-db-main-verify.service"));
  }
}

TEST_CASE("offsite: verify restores into a scratch database on the primary db server alone") {
  const auto m = two_db_servers();
  const auto primary = state_of(m, "db1");
  const auto other = state_of(m, "db2");

  for (const auto* d : {&primary, &other}) {
    const auto& query = spec<File>(*d, "file:/etc/berth/shop/backup/main.verify.sql");
    CHECK(query.content == "SELECT count(*) FROM users\n");
    CHECK(query.mode == "0600");
    const auto& service = content(*d, "/etc/systemd/system/shop-db-main-verify.service");
    CHECK(has(service, "\nExecStart=/usr/local/lib/berth/shop/db-main verify\n"));
    CHECK(has(service, "\nOnFailure=shop-job-failed@unit.shop-db-main-verify.service\n"));
    const auto& timer = content(*d, "/etc/systemd/system/shop-db-main-verify.timer");
    CHECK(has(timer, "\nOnCalendar=weekly\n"));
    CHECK(has(timer, "\nPersistent=true\n"));
  }
  SECTION("the timer runs on the primary only: a replica cannot make the scratch database") {
    const auto& on_primary = spec<Unit>(primary, "unit:shop-db-main-verify.timer");
    CHECK(on_primary.enabled);
    CHECK(on_primary.active);
    const auto& on_other = spec<Unit>(other, "unit:shop-db-main-verify.timer");
    CHECK_FALSE(on_other.enabled);
    CHECK_FALSE(on_other.active);
  }
  SECTION("the script reads the query from its file, and names its snapshots by its server") {
    const auto& script = content(primary, backup_script);
    CHECK(has(script, "scratch=berth_verify_main\n"));
    CHECK(has(script, "-d \"$scratch\" </etc/berth/shop/backup/main.verify.sql"));
    CHECK(has(script, "[ \"$value\" -ge 10 ]"));
    CHECK_FALSE(has(script, "SELECT count(*) FROM users"));
    CHECK(has(script, "host=db1\n"));
    CHECK(has(content(other, backup_script), "host=db2\n"));
  }
  SECTION("a cron schedule becomes OnCalendar; the scratch name holds only letters, digits and _") {
    auto cron = two_db_servers();
    cron.databases[0].key = "main-db";
    cron.databases[0].backups.verify->schedule = "30 4 * * 1";
    const auto d = state_of(cron, "db1");
    CHECK(has(content(d, "/etc/systemd/system/shop-db-main-db-verify.timer"),
              "\nOnCalendar=Mon *-*-* 04:30:00\n"));
    CHECK(
        has(content(d, "/usr/local/lib/berth/shop/db-main-db"), "scratch=berth_verify_main_db\n"));
  }
  SECTION("the app server and the backup server verify nothing") {
    CHECK_FALSE(has_id_starting(state_of(m, "web"), "file:/etc/systemd/system/shop-db-"));
    CHECK_FALSE(has_id_starting(state_of(m, "vault"), "file:/etc/systemd/system/shop-db-"));
  }
}

TEST_CASE(
    "offsite: failures reach the webhook; the repository is checked from the primary db server") {
  const auto m = two_db_servers();
  const auto primary = state_of(m, "db1");
  const auto other = state_of(m, "db2");

  SECTION("every db server: one webhook file per unit, 0600 and hidden") {
    for (const auto* d : {&primary, &other}) {
      for (const auto* unit : {"shop-db-main-backup", "shop-db-main-verify"}) {
        const auto& hook =
            spec<File>(*d, fmt::format("file:/etc/berth/shop/jobs/unit.{}.curl", unit));
        CHECK(hook.content == "url = \"https://hooks.test/T0KEN\"\n");
        CHECK(hook.mode == "0600");
        CHECK(hook.sensitive == Sensitive::yes);
      }
      CHECK(find(*d, "file:/usr/local/lib/berth/shop-job-failed"));
      CHECK(find(*d, "file:/etc/systemd/system/shop-job-failed@.service"));
      CHECK(find(*d, "package:curl"));
    }
  }
  SECTION("the check and prune: on the primary only, on [backups] check") {
    const auto& service = content(primary, "/etc/systemd/system/shop-backup-check.service");
    CHECK(has(service, "\nExecStart=/usr/local/lib/berth/shop/restic prune\n"));
    CHECK(has(service, "\nExecStart=/usr/local/lib/berth/shop/restic check\n"));
    CHECK(has(service, "\nOnFailure=shop-job-failed@unit.shop-backup-check.service\n"));
    CHECK(has(content(primary, "/etc/systemd/system/shop-backup-check.timer"),
              "\nOnCalendar=Sun 04:00\n"));
    CHECK(spec<Unit>(primary, "unit:shop-backup-check.timer").enabled);
    CHECK(find(primary, "file:/etc/berth/shop/jobs/unit.shop-backup-check.curl"));
    CHECK_FALSE(find(other, "file:/etc/systemd/system/shop-backup-check.service"));
    CHECK_FALSE(find(other, "unit:shop-backup-check.timer"));
    CHECK_FALSE(find(other, "file:/etc/berth/shop/jobs/unit.shop-backup-check.curl"));
  }
  SECTION("without a webhook the files say so, so that removing the key stops the posts") {
    auto quiet = two_db_servers();
    quiet.offsite->on_failure_webhook.clear();
    CHECK(content(state_of(quiet, "db1"), "/etc/berth/shop/jobs/unit.shop-db-main-backup.curl") ==
          "# no on_failure_webhook\n");
  }
  SECTION("a webhook whose secret is missing is an error naming [backups]") {
    auto missing = two_db_servers();
    missing.offsite->on_failure_webhook = "${secret:NOPE}";
    CHECK_THROWS_WITH(state_of(missing, "db1"), Catch::Contains("[backups] on_failure_webhook"));
  }
  SECTION("a database without backups has neither backups nor webhooks") {
    auto off = two_db_servers();
    off.databases[0].backups.enabled = false;
    off.databases[0].backups.verify.reset();
    const auto d = state_of(off, "db1");
    CHECK_FALSE(find(d, "file:/etc/berth/shop/jobs/unit.shop-db-main-backup.curl"));
    CHECK_FALSE(find(d, "file:" + std::string(backup_script)));
    CHECK(find(d, "file:/etc/berth/shop/jobs/unit.shop-backup-check.curl"));
  }
}

// The scratch helpers come with backups.verify alone: without it they would read the
// query from nothing, and setup's `sh -n` would refuse the script.
TEST_CASE("offsite: without backups.verify the PostgreSQL and MySQL scripts are valid sh") {
  for (const auto engine : {manifest::Engine::postgresql, manifest::Engine::mysql}) {
    auto m = offsite();
    m.databases[0].engine = engine;
    m.databases[0].backups.verify.reset();
    const auto d = state_of(m, "web");
    check_sh(content(d, backup_script));
  }
}

namespace {

// A fresh folder under /tmp for one test's files.
std::filesystem::path offsite_dir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("berth-offsite-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir / "bin");
  return dir;
}

void write_file(const std::filesystem::path& path, const std::string& text, bool executable = false) {
  std::ofstream(path) << text;
  if (executable)
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
}

// Runs the failure reporter `d` holds as OnFailure= runs it (`name`: its argument),
// with the webhook files `d` holds under a temporary folder and systemctl, hostname and
// curl stubbed. Returns the arguments curl got, one a line ("" when it was not run).
std::string report_failure(const provisioners::Desired& d, const std::string& name) {
  const auto dir = offsite_dir();
  const std::string webhook_dir = "/etc/berth/shop/jobs";
  std::filesystem::create_directories(dir / "jobs");
  for (const auto& r : d.resources) {
    const auto* f = std::get_if<File>(&r.spec);
    if (f && f->path.starts_with(webhook_dir + "/"))
      write_file(dir / "jobs" / f->path.substr(webhook_dir.size() + 1), f->content);
  }
  auto script = content(d, "/usr/local/lib/berth/shop-job-failed");
  for (auto at = script.find(webhook_dir); at != std::string::npos;
       at = script.find(webhook_dir, at))
    script.replace(at, webhook_dir.size(), (dir / "jobs").string());
  write_file(dir / "job-failed", script);
  write_file(dir / "bin" / "systemctl", "#!/bin/sh\necho 1\n", true);
  write_file(dir / "bin" / "hostname", "#!/bin/sh\necho db1\n", true);
  write_file(dir / "bin" / "curl",
        "#!/bin/sh\nprintf '%s\\n' \"$@\" >" + (dir / "curl.args").string() + "\n", true);
  const auto ran =
      run_process({"sh", (dir / "job-failed").string(), name},
                  {.env = {{"PATH", (dir / "bin").string() + ":" + std::getenv("PATH")}},
                   .timeout = std::chrono::seconds(10)});
  std::string args;
  if (std::ifstream in{dir / "curl.args"}) args.assign(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove_all(dir);
  REQUIRE(ran);
  INFO(ran->out << ran->err);
  CHECK(ran->exit_code == 0);
  return args;
}

}  // namespace

TEST_CASE("offsite: the failure reporter posts a failed job to the webhook its file holds") {
  // The jobs' path through the reporter, shared with the backups: the harness works.
  auto m = offsite();
  m.jobs = {{.name = "reminders",
             .schedule = "daily",
             .on_calendar = "daily",
             .command = "true",
             .on_failure_webhook = "https://hooks.test/JOB"}};
  const auto d = state_of(m, "web");
  const auto args = report_failure(d, "reminders");
  CHECK(has(args, "/jobs/reminders.curl\n"));
  CHECK(has(args, "\"job\":\"reminders\""));
}

// The reporter reads unit.UNIT.curl, the name the provisioner writes, not the unit's.
TEST_CASE("offsite: a failed backup is posted to [backups] on_failure_webhook") {
  const auto d = state_of(offsite(), "web");
  REQUIRE(find(d, "file:/etc/berth/shop/jobs/unit.shop-db-main-backup.curl"));
  const auto args = report_failure(d, "unit.shop-db-main-backup");
  CHECK(has(args, "/jobs/unit.shop-db-main-backup.curl\n"));
}

TEST_CASE("offsite: with s3, the db servers reach the bucket with root-only keys and the operator's password") {
  auto m = offsite();
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.offsite->server.clear();
  m.offsite->s3 = manifest::S3Target{.endpoint = "https://s3.test:9000",
                                     .bucket = "shop-backups",
                                     .access_key_id = "AKID",
                                     .secret_access_key = "${secret:BACKUP_HOOK}",
                                     .ca_cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"};
  m.offsite->key = "${secret:BACKUP_HOOK}";
  const auto d = state_of(m, "web");
  const auto& env = spec<File>(d, "file:/etc/berth/shop/backup/s3.env");
  CHECK(env.mode == "0600");
  CHECK(env.sensitive == Sensitive::yes);
  CHECK(env.content.find("export AWS_ACCESS_KEY_ID='AKID'\n") != std::string::npos);
  CHECK(env.content.find("export AWS_SECRET_ACCESS_KEY='https://hooks.test/T0KEN'\n") != std::string::npos);
  const auto& wrapper = spec<File>(d, "file:/usr/local/lib/berth/shop/restic").content;
  CHECK(wrapper.find("export RESTIC_REPOSITORY='s3:https://s3.test:9000/shop-backups/shop'\n") != std::string::npos);
  CHECK(wrapper.find(". /etc/berth/shop/backup/s3.env || exit 1\n") != std::string::npos);
  CHECK(wrapper.find("set -- --cacert /etc/berth/shop/backup/s3-ca.pem \"$@\"\n") != std::string::npos);
  CHECK(wrapper.find("sftp") == std::string::npos);
  CHECK(spec<File>(d, "file:/etc/berth/shop/backup/s3-ca.pem").content.ends_with("-----END CERTIFICATE-----\n"));
  // The operator's password is a file, not a generated secret; no SSH key, no host key.
  const auto& password = spec<File>(d, "file:/etc/berth/shop/secrets/backup_repository_password");
  CHECK(password.content == "https://hooks.test/T0KEN");
  CHECK(password.mode == "0600");
  CHECK(std::none_of(d.secrets.begin(), d.secrets.end(), [](const GeneratedSecret& s) {
    return s.name.starts_with("backup_");
  }));
  CHECK_FALSE(find(d, "package:openssh-client"));
}

TEST_CASE("offsite: with sftp, the db servers log in with the operator's key and accept the given host key alone") {
  auto m = offsite();
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.offsite->server.clear();
  m.offsite->sftp = manifest::SftpTarget{.address = "box.example.net",
                                         .port = 23,
                                         .user = "u123",
                                         .path = "berth/shop",
                                         .key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
                                         .host_key = "ssh-rsa AAAAB3Nz"};
  m.offsite->key = "${secret:BACKUP_HOOK}";
  const auto d = state_of(m, "web");
  const auto& key = spec<File>(d, "file:/etc/berth/shop/backup/id_sftp");
  CHECK(key.mode == "0600");
  CHECK(key.sensitive == Sensitive::yes);
  CHECK(key.content.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
  CHECK(spec<File>(d, "file:/etc/berth/shop/backup/known_hosts").content ==
        "berth-backup-box.example.net ssh-rsa AAAAB3Nz\n");
  const auto& wrapper = spec<File>(d, "file:/usr/local/lib/berth/shop/restic").content;
  CHECK(wrapper.find("export RESTIC_REPOSITORY='sftp:u123@box.example.net:berth/shop'\n") != std::string::npos);
  CHECK(wrapper.find("ssh -F none -i /etc/berth/shop/backup/id_sftp -p 23 ") != std::string::npos);
  CHECK(wrapper.find("-o HostKeyAlias=berth-backup-box.example.net ") != std::string::npos);
  CHECK(wrapper.find("-o HostKeyAlgorithms=ssh-rsa ") != std::string::npos);
  CHECK(wrapper.find(" u123@box.example.net -s sftp'") != std::string::npos);
  CHECK(std::none_of(d.secrets.begin(), d.secrets.end(), [](const GeneratedSecret& s) {
    return s.name.starts_with("backup_");
  }));
}

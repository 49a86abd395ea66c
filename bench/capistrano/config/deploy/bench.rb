# The sandbox host bench/run booted, as root with the sandbox's key, its host key
# checked against the sandbox's known_hosts (as berth and OpenSSH do in the bench).
server ENV.fetch("BENCH_HOST"), user: "root", roles: %w[app]

set :ssh_options, {
  config: false,
  keys: [ENV.fetch("BENCH_KEY")],
  keys_only: true,
  auth_methods: %w[publickey],
  user_known_hosts_file: ENV.fetch("BENCH_KNOWN_HOSTS"),
  global_known_hosts_file: "/dev/null",
  verify_host_key: :always,
}

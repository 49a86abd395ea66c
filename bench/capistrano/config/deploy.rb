# What a Capistrano user writes for examples/fleet's app (a dependency-free node
# server): a release folder per deploy under :deploy_to, the `current` symlink
# switched, the app's systemd instances restarted, and the deploy finished only when
# each instance answers HTTP again (berth's deploy checks its instances too).
set :application, "hello"
set :deploy_to, -> { ENV.fetch("BENCH_DEPLOY_TO", "/srv/cap-hello") }
set :keep_releases, 5
set :log_level, :info
# Airbrussh's log file would land in this folder; bench/run keeps the output instead.
set :format_options, log_file: nil
# The template unit bench/run made from berth's: one instance per port.
set :app_ports, -> { ENV.fetch("BENCH_PORTS", "3100 3101").split }

namespace :deploy do
  desc "Restart the app's instances, then wait until each answers (10 s at most)"
  task :restart do
    on roles(:app) do
      ports = fetch(:app_ports)
      execute :systemctl, "restart", *ports.map { |p| "cap-#{fetch(:application)}@#{p}.service" }
      execute "for p in #{ports.join(' ')}; do i=0; " \
              "until curl -fs -o /dev/null http://127.0.0.1:$p/healthz; do " \
              "i=$((i + 1)); [ $i -lt 1000 ] || exit 1; sleep 0.01; done; done"
    end
  end
  after :publishing, :restart
end

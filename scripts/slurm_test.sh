#!/usr/bin/env bash
# `make test-slurm`: profiles/slurm on a real SLURM. Installs slurm-wlm + munge from Debian's
# packages (when missing), starts munged, slurmctld and slurmd on localhost (one node, no
# accounting database: the profile's squeue status check needs none), runs a small DAG of the
# sample (bicubic, clean, 16 px, 2 shards: 10 jobs) once locally and once through profiles/slurm
# as shipped, and fails unless both results/sr_metrics.csv are byte-identical. Then checks that
# an `scancel`led job fails the run instead of hanging it. Needs root. Stops only the daemons
# it started (by PID, on any exit); a rerun first stops those a killed earlier run left.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${ROBUSTFACE_SLURM_TEST_DIR:-/tmp/robustface-slurm-test}
SNAKEMAKE="$REPO/.venv/bin/snakemake"
CONF=/etc/slurm/slurm.conf          # srun inside a job reads this path (the jobstep drops SLURM_CONF)
CONF_BACKUP=/etc/slurm/slurm.conf.robustface-backup
MARK="# written by robustface scripts/slurm_test.sh; removed when it exits"
DAEMONS=(slurmd slurmctld munged)   # stop order
T0=$SECONDS

say() { echo "slurm_test [$((SECONDS - T0)) s]: $*" >&2; }
die() { echo "slurm_test: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (installs packages, runs slurmctld/slurmd as root)"
[ -x "$SNAKEMAKE" ] || die "$SNAKEMAKE missing: run 'make setup' first"

# Stop a daemon this script started, by the PID it recorded; never by name.
stop_recorded() {
  local name=$1 pidfile="$STATE/pids/$1" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

restore_conf() {
  if [ -f "$CONF" ] && grep -qxF "$MARK" "$CONF"; then rm -f "$CONF"; fi
  if [ -f "$CONF_BACKUP" ] && [ ! -e "$CONF" ]; then mv "$CONF_BACKUP" "$CONF"; fi
}

cleanup() {
  local rc=$?
  for d in "${DAEMONS[@]}"; do stop_recorded "$d"; done
  restore_conf
  if [ "$rc" -ne 0 ]; then
    echo "slurm_test: FAILED (exit $rc); logs kept in $STATE" >&2
    for f in "$STATE"/slurmctld.log "$STATE"/slurmd.log "$STATE"/slurm.log; do
      [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 25 "$f" >&2; }
    done
  fi
  exit "$rc"
}

start_daemon() {  # name, command...: foreground daemon in the background; its PID recorded
  local name=$1; shift
  "$@" > "$STATE/$name.out" 2>&1 &
  echo $! > "$STATE/pids/$name"
}

# --- leftovers of an earlier (killed) run: only what this script recorded or wrote ------------
if [ -d "$STATE/pids" ]; then
  say "stopping daemons left by an earlier run"
  for d in "${DAEMONS[@]}"; do stop_recorded "$d"; done
fi
restore_conf
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- packages -----------------------------------------------------------------------------------
missing=0
for c in munged slurmctld slurmd sbatch squeue; do command -v "$c" > /dev/null || missing=1; done
if [ "$missing" = 1 ]; then
  say "installing slurm-wlm munge (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge > "${TMPDIR:-/tmp}/robustface-slurm-apt.log" 2>&1 \
    || { tail -n 20 "${TMPDIR:-/tmp}/robustface-slurm-apt.log" >&2; die "apt-get install slurm-wlm munge failed"; }
fi
say "$(sbatch --version)"

rm -rf "$STATE"
mkdir -p "$STATE/pids" "$STATE/ctld" "$STATE/spool"
chmod 755 "$STATE"   # munged wants its socket's directories not world-writable

# --- munge: a private key and socket, not the system's --------------------------------------------
dd if=/dev/urandom of="$STATE/munge.key" bs=1024 count=1 status=none
chmod 400 "$STATE/munge.key"
start_daemon munged munged --foreground --force --key-file="$STATE/munge.key" \
  --socket="$STATE/munge.sock" --pid-file="$STATE/munged.pid" --seed-file="$STATE/munge.seed" \
  --log-file="$STATE/munged.log"
for _ in $(seq 50); do munge -S "$STATE/munge.sock" -n > /dev/null 2>&1 && break; sleep 0.2; done
munge -S "$STATE/munge.sock" -n | unmunge -S "$STATE/munge.sock" > /dev/null || die "munged did not start"

# --- slurm.conf: one node "localhost"; its own ports, so a real SLURM on this host is untouched ---
# config_overrides: the node may claim 2 CPUs / 16 GB even on a smaller box (no cgroups here,
# nothing is enforced), so the profile's real per-rule requests are what sbatch sees.
ncpu=$(nproc); [ "$ncpu" -lt 2 ] && ncpu=2
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo); [ "$mem_mb" -lt 16000 ] && mem_mb=16000
if [ -e "$CONF" ]; then mv "$CONF" "$CONF_BACKUP"; fi
mkdir -p "$(dirname "$CONF")"
cat > "$CONF" <<EOF
$MARK
ClusterName=robustface-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=$mem_mb State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
start_daemon slurmctld slurmctld -D -f "$CONF"
start_daemon slurmd slurmd -D -f "$CONF" -N localhost
for _ in $(seq 120); do
  [ "$(sinfo --noheader --nodes=localhost --format=%T 2>/dev/null)" = idle ] && break; sleep 0.5
done
[ "$(sinfo --noheader --nodes=localhost --format=%T)" = idle ] || die "node localhost not idle: $(sinfo -N 2>&1)"
say "SLURM up: $(sinfo --noheader --format='%P %D %T %C')"

# --- the same small DAG, locally and through the SLURM profile -----------------------------------
for wd in local slurm; do
  mkdir -p "$STATE/$wd"
  cp "$REPO/config.yaml" "$STATE/$wd/config.yaml"
done
cat > "$STATE/small.yaml" <<'EOF'
variants: [clean]
degrade: {resolutions: [16]}
superres: {models: {bicubic: {enabled: true}, realesrgan: {enabled: false}}}
n_shards: 2
EOF
cd "$REPO"
run_smk() {  # workdir, limit seconds, snakemake args...
  local wd=$1 limit=$2; shift 2
  timeout --kill-after=10 "$limit" "$SNAKEMAKE" -s "$REPO/Snakefile" -d "$STATE/$wd" \
    --configfile "$STATE/small.yaml" "$@"
}
unset ROBUSTFACE_SLURM_ACCOUNT ROBUSTFACE_SLURM_PARTITION ROBUSTFACE_SLURM_GPU_PARTITION \
  ROBUSTFACE_SLURM_GPUS ROBUSTFACE_SLURM_GPU_MODEL SLURM_CONF
say "local run"
run_smk local 300 --profile "$REPO/profiles/local" -- results/sr_metrics.csv > "$STATE/local.log" 2>&1 \
  || { tail -n 30 "$STATE/local.log" >&2; die "local run failed ($STATE/local.log)"; }

say "SLURM run (profiles/slurm as shipped)"
# Quicker status polls than the profile's (a real cluster does not need them every 2 s).
run_smk slurm 420 --profile "$REPO/profiles/slurm" --slurm-init-seconds-before-status-checks 2 \
  --seconds-between-status-checks 2 -- results/sr_metrics.csv > "$STATE/slurm.log" 2>&1 \
  || die "SLURM run failed or timed out ($STATE/slurm.log): $(tail -n 30 "$STATE/slurm.log")"

n_jobs=$(grep -c "has been submitted with SLURM jobid" "$STATE/slurm.log" || true)
n_planned=$(awk '$1 == "total" {print $2; exit}' "$STATE/local.log")
[ -n "$n_planned" ] && [ "$n_jobs" = "$n_planned" ] \
  || die "$n_jobs jobs went through sbatch, the local run had ${n_planned:-?}"
grep -q "GPUS=auto -> 0" "$STATE/slurm.log" || die "the profile did not detect a CPU-only cluster"
states=$(squeue --noheader --states=all --format=%T | sort | uniq -c | tr -s ' ')
[ "$(squeue --noheader --states=all --format=%T | sort -u)" = COMPLETED ] \
  || die "not every SLURM job COMPLETED: $states"
say "$n_jobs jobs through sbatch, SLURM states:$states"

a="$STATE/local/results/sr_metrics.csv" b="$STATE/slurm/results/sr_metrics.csv"
grep -q ',ok$' "$a" || die "the local run has no ok row: $(cat "$a")"
cmp "$a" "$b" || die "results differ: $(diff "$a" "$b" | head -20)"
say "results/sr_metrics.csv byte-identical ($(wc -l < "$a") lines)"

# --- scancel: the run must fail promptly, not wait forever -----------------------------------------
say "scancel check"
run_smk slurm 180 --profile "$REPO/profiles/slurm" --slurm-init-seconds-before-status-checks 2 \
  --seconds-between-status-checks 2 --forcerun sr_metrics -- results/sr_metrics.csv \
  > "$STATE/cancel.log" 2>&1 &
smk=$!
jobid=""
for _ in $(seq 120); do
  jobid=$(sed -n 's/.*has been submitted with SLURM jobid \([0-9]*\).*/\1/p' "$STATE/cancel.log" | head -n 1)
  [ -n "$jobid" ] && break; sleep 0.5
done
[ -n "$jobid" ] || { kill "$smk" 2>/dev/null; die "no job submitted for the scancel check"; }
scancel "$jobid"
rc=0; wait "$smk" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] \
  || die "after scancel the run exited $rc (124/137 = timed out, 0 = cancel not noticed)"
grep -q "SLURM status is: 'CANCELLED'" "$STATE/cancel.log" || die "the cancel was not reported: $(tail -n 20 "$STATE/cancel.log")"
say "scancel of job $jobid failed the run (exit $rc)"
say "PASS"

#!/usr/bin/env bash
# `make test-slurm`: profiles/slurm on a real SLURM. Installs slurm-wlm + munge from Debian's
# packages (when missing), starts munged, slurmctld and slurmd on localhost (one node, no
# accounting database: the profile's squeue status check needs none) and fails unless:
#  1. CPU-only cluster: a small DAG of the sample (bicubic, clean, 16 px, 2 shards: ~10 jobs) run
#     through profiles/slurm as shipped (GPUS=auto -> 0) gives a results/sr_metrics.csv
#     byte-identical to the local run's;
#  2. GPU cluster (SLURM restarted with a gres gpu backed by /dev/null and a `gpu` partition):
#     the SR jobs rerun with --gpus=1 on that partition (GPUS=auto -> 1), the others stay on the
#     default partition without a GPU, and the result is again byte-identical;
#  3. an `scancel`led job fails the run instead of hanging it.
# Needs root. Stops only the daemons it started (by PID, on any exit); a rerun first stops those
# a killed earlier run left.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${ROBUSTFACE_SLURM_TEST_DIR:-/tmp/robustface-slurm-test}
SNAKEMAKE="$REPO/.venv/bin/snakemake"
# srun inside a job reads /etc/slurm (the plugin's jobstep drops SLURM_CONF from its environment)
CONF=/etc/slurm/slurm.conf
GRES_CONF=/etc/slurm/gres.conf
MARK="# written by robustface scripts/slurm_test.sh; removed when it exits"
# What this script starts, in stop order: background snakemake runs (their `timeout` wrapper), then
# the daemons. Each PID is recorded under $STATE/pids and checked against its command name.
STARTED=(smk-local smk-slurm slurmd slurmctld munged)
T0=$SECONDS

say() { echo "slurm_test [$((SECONDS - T0)) s]: $*" >&2; }
die() { echo "slurm_test: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (installs packages, runs slurmctld/slurmd as root)"
[ -x "$SNAKEMAKE" ] || die "$SNAKEMAKE missing: run 'make setup' first"

# Stop a process this script started, by the PID it recorded; never by name.
stop_recorded() {
  local name=$1 pidfile="$STATE/pids/$1" pid comm=$1
  [[ "$name" == smk-* ]] && comm=timeout
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# A slurm.conf/gres.conf that was there before is moved aside and put back on exit.
restore_conf() {
  local f
  for f in "$CONF" "$GRES_CONF"; do
    if [ -f "$f" ] && grep -qxF "$MARK" "$f"; then rm -f "$f"; fi
    if [ -f "$f.robustface-backup" ] && [ ! -e "$f" ]; then mv "$f.robustface-backup" "$f"; fi
  done
}

cleanup() {
  local rc=$?
  stop_recorded smk-local
  stop_recorded smk-slurm
  if [ -f "$STATE/pids/slurmctld" ] && [ -f "$CONF" ] && grep -qxF "$MARK" "$CONF"; then
    local ids  # jobs still on this test cluster: their slurmstepd outlive slurmd
    ids=$(timeout 10 squeue --noheader --format=%i 2> /dev/null || true)
    if [ -n "$ids" ]; then timeout 10 scancel $ids 2> /dev/null || true; sleep 2; fi
  fi
  for d in "${STARTED[@]}"; do stop_recorded "$d"; done
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
if compgen -G "$STATE/pids/*" > /dev/null; then
  say "stopping what an earlier run left"
  for d in "${STARTED[@]}"; do stop_recorded "$d"; done
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
for f in "$CONF" "$GRES_CONF"; do if [ -e "$f" ]; then mv "$f" "$f.robustface-backup"; fi; done
mkdir -p "$(dirname "$CONF")"
write_conf() {  # $1 = GPUs of the node: 0 = a CPU-only cluster
  local gpus=$1 node_gres="" gres_types=""
  rm -f "$GRES_CONF"
  if [ "$gpus" -gt 0 ]; then
    node_gres="Gres=gpu:$gpus" gres_types="GresTypes=gpu"
    printf '%s\nNodeName=localhost Name=gpu File=/dev/null Count=%s\n' "$MARK" "$gpus" > "$GRES_CONF"
  fi
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
MinJobAge=600
SlurmdParameters=config_overrides
$gres_types
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=$mem_mb $node_gres State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  if [ "$gpus" -gt 0 ]; then
    echo "PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP" >> "$CONF"
  fi
}
start_slurm() {
  start_daemon slurmctld slurmctld -D -f "$CONF"
  start_daemon slurmd slurmd -D -f "$CONF" -N localhost
  for _ in $(seq 120); do
    [ "$(sinfo --noheader --nodes=localhost --format=%T 2>/dev/null | sort -u)" = idle ] && break
    sleep 0.5
  done
  [ "$(sinfo --noheader --nodes=localhost --format=%T | sort -u)" = idle ] \
    || die "node localhost not idle: $(sinfo -N 2>&1)"
  say "SLURM up: $(sinfo --noheader --format='%P %D %T %C %G' | tr '\n' ';')"
}
write_conf 0
start_slurm
say "$(sbatch --version)"

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
# A snakemake run of the small DAG in the background, its `timeout` wrapper's PID recorded.
# Status polls quicker than the profile's (a real cluster does not need them every 2 s).
start_smk() {  # name (smk-local|smk-slurm), workdir, log, limit seconds, snakemake args...
  local name=$1 wd=$2 log=$3 limit=$4; shift 4
  timeout --kill-after=10 "$limit" "$SNAKEMAKE" -s "$REPO/Snakefile" -d "$STATE/$wd" \
    --configfile "$STATE/small.yaml" "$@" > "$log" 2>&1 &
  echo $! > "$STATE/pids/$name"
}
SLURM_ARGS=(--profile "$REPO/profiles/slurm" --slurm-init-seconds-before-status-checks 2
  --seconds-between-status-checks 2)
finish_smk() {  # name: its exit status
  local pid rc=0
  pid=$(cat "$STATE/pids/$1")
  wait "$pid" || rc=$?
  rm -f "$STATE/pids/$1"
  return "$rc"
}
submitted() { sed -n 's/.*has been submitted with SLURM jobid \([0-9]*\).*/\1/p' "$1"; }

unset ROBUSTFACE_SLURM_ACCOUNT ROBUSTFACE_SLURM_PARTITION ROBUSTFACE_SLURM_GPU_PARTITION \
  ROBUSTFACE_SLURM_GPUS ROBUSTFACE_SLURM_GPU_MODEL SLURM_CONF
say "local run and SLURM run (profiles/slurm as shipped)"
start_smk smk-local local "$STATE/local.log" 600 --profile "$REPO/profiles/local" -- results/sr_metrics.csv
start_smk smk-slurm slurm "$STATE/slurm.log" 720 "${SLURM_ARGS[@]}" -- results/sr_metrics.csv
finish_smk smk-slurm || die "SLURM run failed or timed out ($STATE/slurm.log): $(tail -n 30 "$STATE/slurm.log")"
finish_smk smk-local || die "local run failed ($STATE/local.log): $(tail -n 30 "$STATE/local.log")"

n_jobs=$(submitted "$STATE/slurm.log" | wc -l)
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

# --- GPU cluster: SR jobs ask a GPU on the gpu partition, the others none ---------------------------
say "GPU cluster: restarting SLURM with a gres gpu and a gpu partition"
stop_recorded slurmd
stop_recorded slurmctld
write_conf 1
start_slurm
export ROBUSTFACE_SLURM_GPU_PARTITION=gpu
start_smk smk-slurm slurm "$STATE/gpu.log" 480 "${SLURM_ARGS[@]}" --forcerun superres -- results/sr_metrics.csv
finish_smk smk-slurm || die "SLURM run on the GPU cluster failed ($STATE/gpu.log): $(tail -n 30 "$STATE/gpu.log")"
unset ROBUSTFACE_SLURM_GPU_PARTITION
grep -q "GPUS=auto -> 1" "$STATE/gpu.log" || die "the profile did not detect the GPU partition"
n_sr=0
for id in $(submitted "$STATE/gpu.log"); do
  info=$(scontrol show job --oneliner "$id")
  comment=$(sed -n 's/.* Comment=\([^ ]*\).*/\1/p' <<< "$info")
  part=$(sed -n 's/.* Partition=\([^ ]*\).*/\1/p' <<< "$info")
  [[ "$info" == *" JobState=COMPLETED "* ]] || die "job $id ($comment) did not complete: $info"
  if [[ "$comment" == rule_superres_* ]]; then
    n_sr=$((n_sr + 1))
    [ "$part" = gpu ] && [[ "$info" == *"TresPerJob=gres:gpu:1"* ]] \
      || die "SR job $id did not ask a GPU on partition gpu: $info"
  else
    [ "$part" = cpu ] && [[ "$info" != *"gres:gpu"* ]] || die "job $id ($comment) asked a GPU: $info"
  fi
done
n_sr_planned=$(awk '$1 == "superres" {print $2; exit}' "$STATE/gpu.log")
[ "$n_sr" -ge 1 ] && [ "$n_sr" = "$n_sr_planned" ] \
  || die "$n_sr SR jobs went through sbatch on the GPU cluster, ${n_sr_planned:-?} planned"
cmp "$a" "$b" || die "results differ on the GPU cluster: $(diff "$a" "$b" | head -20)"
say "GPU cluster: $n_sr SR jobs with --gpus=1 on partition gpu, the others on cpu; results byte-identical"

# --- scancel: the run must fail promptly, not wait forever -----------------------------------------
say "scancel check"
start_smk smk-slurm slurm "$STATE/cancel.log" 240 "${SLURM_ARGS[@]}" --forcerun sr_metrics -- results/sr_metrics.csv
jobid=""
for _ in $(seq 120); do
  jobid=$(submitted "$STATE/cancel.log" | head -n 1)
  [ -n "$jobid" ] && break
  sleep 0.5
done
[ -n "$jobid" ] || die "no job submitted for the scancel check: $(tail -n 20 "$STATE/cancel.log")"
scancel "$jobid"
rc=0
finish_smk smk-slurm || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] \
  || die "after scancel the run exited $rc (124/137 = timed out, 0 = the cancel went unnoticed)"
grep -q "SLURM status is: 'CANCELLED'" "$STATE/cancel.log" \
  || die "the cancel was not reported: $(tail -n 20 "$STATE/cancel.log")"
say "scancel of job $jobid failed the run (exit $rc)"
say "PASS"

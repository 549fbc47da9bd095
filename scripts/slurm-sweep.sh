#!/usr/bin/env bash
# The distributed path, proven on one machine: starts a single-node Slurm (slurm-wlm and
# munge from Debian's packages; run as root), submits the README's job array of
# `statesim sweep --partition K/N` (smaller by default, so it takes a few minutes), merges
# the shares, runs the same sweep on one machine, and checks the files are byte-identical.
#
#   sudo scripts/slurm-sweep.sh
#   STATESIM=target/release/statesim scripts/slurm-sweep.sh       (no build)
#   MODEL=crash-test VARY=servers.count=2..64:*2 REPS=10 TASKS=16 SETS= scripts/slurm-sweep.sh   (the README's array)
#
# Exit code 0: the merged sweep equals the one-machine sweep byte for byte. The daemons it
# started (munged, slurmctld, slurmd) are stopped at the end; its files are in $WORK.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-mega-proxy}
VARY=${VARY:-servers.count=4,6,8,10,12}
REPS=${REPS:-2}
TASKS=${TASKS:-4}
SETS=${SETS:---set run.duration=1m --set run.warmup=10s}
WORK=${WORK:-$(mktemp -d /tmp/statesim-slurm.XXXXXX)}
mkdir -p "$WORK"
echo "== working in $WORK"

if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (it installs packages and starts slurmctld, slurmd and munged)" >&2
  exit 2
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  echo "== installing slurm-wlm and munge (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge > /dev/null
fi

# STATESIM=path uses a statesim already built.
if [ -z "${STATESIM:-}" ]; then
  cargo build --release --locked --quiet
  STATESIM=$PWD/target/release/statesim
fi
BIN=$(realpath "$STATESIM")

started=()
stop_all() {
  for pidfile in "${started[@]}"; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
}
trap stop_all EXIT

# munge: the key Debian made at install (or a new one), a daemon of our own on its own socket.
if [ ! -f /etc/munge/munge.key ]; then mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; fi
MUNGE_SOCKET=$WORK/munge.socket
install -d -o munge -g munge "$WORK/munge"
chown munge:munge "$WORK"
runuser -u munge -- munged --socket="$MUNGE_SOCKET" --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/munged.seed"
started+=("$WORK/munge/munged.pid")

HOST=$(hostname -s)
CPUS=$(nproc)
export SLURM_CONF=$WORK/slurm.conf
mkdir -p "$WORK/spool/ctld" "$WORK/spool/d"
cat > "$SLURM_CONF" <<EOF
ClusterName=statesim
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
SlurmctldPort=$((20000 + RANDOM % 10000))
SlurmdPort=$((30000 + RANDOM % 10000))
StateSaveLocation=$WORK/spool/ctld
SlurmdSpoolDir=$WORK/spool/d
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c
started+=("$WORK/slurmctld.pid")
slurmd -c
started+=("$WORK/slurmd.pid")
for _ in $(seq 1 30); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mix|alloc'; then break; fi
  sleep 1
done
sinfo

# The README's job array, one share per task.
cat > "$WORK/sweep.sbatch" <<EOF
#!/bin/bash
#SBATCH --array=1-$TASKS
#SBATCH --cpus-per-task=1
#SBATCH --output=$WORK/task-%a.log
$BIN sweep $MODEL -r $REPS --vary $VARY $SETS --quiet --threads 1 \\
  --partition \${SLURM_ARRAY_TASK_ID}/$TASKS --out $WORK/cluster/share-\${SLURM_ARRAY_TASK_ID}
EOF
echo "== sbatch --wait: $TASKS tasks of statesim sweep $MODEL -r $REPS --vary $VARY $SETS"
sbatch --wait "$WORK/sweep.sbatch"
# Each task wrote its own folder, as tasks on separate machines without a shared disk
# would (one shared folder works too: tests/suite/sweep.rs starts shares together on one).
"$BIN" merge "$WORK"/cluster/share-*/"$MODEL"/sweep --out "$WORK/cluster/merged" --quiet

echo "== the same sweep on one machine"
# shellcheck disable=SC2086
"$BIN" sweep "$MODEL" -r "$REPS" --vary "$VARY" $SETS --quiet --out "$WORK/single"

status=0
for f in sweep.json sweep.csv; do
  if cmp "$WORK/cluster/merged/$f" "$WORK/single/$MODEL/sweep/$f"; then
    echo "same bytes: $f ($(wc -c < "$WORK/single/$MODEL/sweep/$f") bytes)"
  else
    echo "DIFFERENT: $f"
    status=1
  fi
done
exit $status

/**
 * Chromium gathers no loopback ICE candidates, so WebRTC between pages needs
 * an interface with an address and a route. A script that needs it calls
 * `inPrivateNetwork(itself)` first: outside, it re-executes the script inside
 * a private network namespace it creates (`unshare -n`, a veth pair,
 * 10.250.0.1/24, a default route; needs root or CAP_SYS_ADMIN) and exits with
 * its status; inside (AO_P2P_NETNS=1), it returns. Every address the scripts
 * use stays 127.0.0.1.
 */
import { spawnSync } from 'node:child_process'

export function inPrivateNetwork(self, label) {
  if (process.env.AO_P2P_NETNS === '1') return
  const script = [
    'set -e',
    'ip link set lo up',
    'ip link add v0 type veth peer name v1',
    'ip addr add 10.250.0.1/24 dev v0',
    'ip link set v0 up', 'ip link set v1 up',
    'ip route add default dev v0',
    `exec env AO_P2P_NETNS=1 "${process.execPath}" "${self}"`,
  ].join('\n')
  const r = spawnSync('unshare', ['-n', 'bash', '-c', script], { stdio: 'inherit' })
  if (r.error) { console.error(`${label}: cannot run unshare: ${r.error.message}`); process.exit(1) }
  process.exit(r.status ?? 1)
}

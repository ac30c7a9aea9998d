/**
 * `dynamicfs tier status POOL`: bytes per tier (where the fragments lie), compliance with
 * the tier policies (extents off their wanted tier, and why) and the monthly cost estimate
 * from the tier.*.pricePerGiBMonth settings (admin/tier-report.ts computes it). `status`
 * is a subcommand, so the verb has room for more (moving extents between tiers).
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { TierStatusData } from '../../admin/ops';
import { humanBytes, parseBytes, table } from '../format';
import { requestIdOf, withRequestId } from '../request-id';
import { jsonOf, localContext, type CliContext } from '../verb';
import { renderJobOutcome } from './job-output';

const money = (n: number): string => n.toFixed(n >= 100 ? 0 : 2);

function render(d: TierStatusData): string {
  const rows = d.tiers.map((t) => [t.tier, `${t.healthyDisks}/${t.disks}`, t.fragments, humanBytes(t.storedBytes), t.extents, humanBytes(t.logicalBytes),
    money(t.pricePerGiBMonth), money(t.costPerMonth)]);
  const c = d.compliance;
  const out = [
    `pool ${d.pool}: new extents want the ${d.foreground} tier unless their directory or file says otherwise`,
    table(['TIER', 'HEALTHY/DISKS', 'FRAGMENTS', 'STORED', 'EXTENTS', 'LOGICAL', 'PRICE/GiB-MONTH', 'COST/MONTH'], rows,
      ['HEALTHY/DISKS', 'FRAGMENTS', 'STORED', 'EXTENTS', 'LOGICAL', 'PRICE/GiB-MONTH', 'COST/MONTH']),
    `estimated cost: ${money(d.costPerMonth)} a month (stored bytes, parity included, at each tier's price)`,
    `inline in the metadata: ${d.inline.extents} extents, ${humanBytes(d.inline.bytes)}`,
    c.nonCompliant === 0 ? `compliance: all ${c.checked} extents are on the tier they want`
      : `compliance: ${c.nonCompliant} of ${c.checked} extents are not on the tier they want (${Object.entries(c.byReason).filter(([, n]) => n > 0).map(([r, n]) => `${n} ${r}`).join(', ')})`,
  ];
  out.push(`heat (tier.classifier=${d.classifier}): ${d.tiers.map((t) => `${t.hotExtents} hot on ${t.tier}`).join(', ')}; `
    + `due to move now: ${d.tiers.map((t) => `${t.pendingMoveExtents} from ${t.tier}`).join(', ')}`);
  const s = d.schedule;
  out.push(s.nextLookMs === null ? `scheduled migrations: none now (${s.reason})`
    : `scheduled migrations: every ${s.everySeconds} s${s.running ? '' : ' (by a coordinator; none runs now)'}; next look ${new Date(s.nextLookMs).toISOString()} (${s.reason})`);
  if (c.listed.length > 0) {
    out.push(table(['EXTENT', 'FILE', 'WANTS', 'ON', 'WHY'], c.listed.map((x) => [x.extent, x.path, x.wanted, x.placed, x.detail ? `${x.reason}: ${x.detail}` : x.reason])));
    if (c.listed.length < c.nonCompliant) out.push(`(the first ${c.listed.length} listed; --json has the same)`);
  }
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  const tier = program.command('tier')
    .summary('tiers: where the data lies, compliance, cost')
    .description('Tiers of disks (add-disk --tier hot|warm|cold) as the pool uses them. See `dynamicfs tier status --help`.');
  tier.command('status')
    .summary('bytes per tier, extents off their wanted tier and why, the monthly cost estimate')
    .description('For each tier: its disks (healthy/all), the fragments on them and their bytes as stored (parity and copies included), '
      + 'the extents wholly on it and their logical bytes, and the cost a month at tier.<tier>.pricePerGiBMonth. Then compliance: the extents '
      + 'whose fragments are not on the tier they want (their file\'s user.dynamicfs.tier, else tier.foreground; a tier without disks passed over), '
      + 'each with why: fallback (the wanted tier cannot take it now: too few healthy disks, or full), stale (it could now: written before the '
      + 'policy changed or during a fallback since ended), mixed-tiers (fragments on several tiers). Read-only.')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string) => {
      ctx.emit(await invoke(pool, 'tier-status', {}), render);
    });
  withRequestId(tier.command('migrate'))
    .summary('move idle extents to their background tier, hot ones back to their foreground tier (a job)')
    .description('Every extent not read for its policy\'s demoteAfter (user.dynamicfs.tier, else tier.demoteAfterSeconds) and not hot '
      + '(tier.classifier) whose policy has a background tier (else tier.background) with disks moves there, and with promotion on '
      + '(tier.promote) every hot extent off its foreground tier moves back; each re-encoded to the target tier\'s redundancy: the new copy '
      + 'is written first, then the placement is replaced in one transaction, then the old copy deleted. A persistent job (jobs: pause, '
      + 'resume, cancel; a restarted coordinator resumes it); a coordinator also starts one every tier.migrateEvery seconds when something is '
      + 'due. Through a running coordinator it starts (or joins) the job and returns, unless --wait; without one it runs here to the end.')
    .argument('<pool>', 'pool directory')
    .option('--wait', 'with a coordinator running: wait for the job to end')
    .option('--rate <bytes>', 'cap the job\'s I/O at this many bytes per second, such as 8M, 0 for no limit (default: tier.migrateRate)')
    .action(async (pool: string, o: { wait?: boolean; rate?: string; requestId?: string }, cmd: Command) => {
      const rate = o.rate === undefined ? undefined : parseBytes(o.rate, '--rate');
      ctx.emit(await invoke(pool, 'tier-migrate', { wait: !!o.wait, ...(rate === undefined ? {} : { rateBytesPerSec: rate }) },
        { local: localContext(jsonOf(cmd)), ...requestIdOf(o) }), renderJobOutcome);
    });
}

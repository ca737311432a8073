import { parseAssignees, type ParsedAssignee } from './assignees';

/**
 * Teams, as XL Release has them: named groups of assignees in the configuration (`teams:`),
 * named in an assignee list as `team:<name>`. A team is resolved into its members when a task
 * starts or is reassigned; each member gets a request of their own, and any one member's answer
 * decides, as for any assignee.
 */
export const TEAM_PREFIX = 'team:';
export const TEAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Team name -> members, as the configuration defines them. */
export type Teams = Readonly<Record<string, readonly ParsedAssignee[]>>;

/** An assignee and the teams through which they were assigned (none when named directly). */
export interface TeamAssignee extends ParsedAssignee {
  teams?: string[];
}

/**
 * Reads `alice@example.test, team:release-managers` (or a list of such strings and assignee
 * objects) into assignees, each team replaced by its members, without duplicates: an address
 * named twice is one assignee, labelled with every team that named it. Throws on an unknown team
 * or a bad address.
 */
export function resolveAssignees(
  list: string | readonly (string | TeamAssignee)[],
  teams: Teams,
): TeamAssignee[] {
  const resolved = new Map<string, TeamAssignee>();
  const add = (assignee: ParsedAssignee, team?: string): void => {
    const entry = resolved.get(assignee.address) ?? { address: assignee.address, name: assignee.name };
    resolved.set(assignee.address, entry);
    entry.name ??= assignee.name;
    if (team !== undefined && !entry.teams?.includes(team)) entry.teams = [...(entry.teams ?? []), team];
  };
  for (const item of typeof list === 'string' ? [list] : list) {
    if (typeof item !== 'string') {
      const [assignee] = parseAssignees([item]);
      if (item.teams?.length) for (const team of item.teams) add(assignee!, team);
      else add(assignee!);
      continue;
    }
    for (const entry of splitAddressList(item)) {
      const team = teamReference(entry);
      if (team === undefined) {
        for (const assignee of parseAssignees(entry)) add(assignee);
        continue;
      }
      const members = Object.hasOwn(teams, team) ? teams[team] : undefined;
      if (!members) throw new Error(unknownTeam(team, teams));
      for (const member of members) add(member, team);
    }
  }
  if (resolved.size === 0) throw new Error('at least one assignee is required');
  return [...resolved.values()];
}

/** The team name of a `team:<name>` entry, or undefined when the entry is an address. */
function teamReference(entry: string): string | undefined {
  const text = entry.trim();
  if (text.slice(0, TEAM_PREFIX.length).toLowerCase() !== TEAM_PREFIX) return undefined;
  const name = text.slice(TEAM_PREFIX.length).trim();
  if (!TEAM_NAME.test(name)) throw new Error(`not a team name: ${JSON.stringify(text)}`);
  return name;
}

function unknownTeam(name: string, teams: Teams): string {
  const known = Object.keys(teams);
  return known.length === 0
    ? `unknown team ${JSON.stringify(name)}: the configuration defines no teams (add them under "teams:")`
    : `unknown team ${JSON.stringify(name)}: the configuration defines ${known.join(', ')}`;
}

/**
 * Splits an address list at its commas, leaving commas inside quoted names and angle brackets
 * alone (`"Smith, Bob" <bob@x.test>`); drops empty entries. One pass, linear in the text.
 */
function splitAddressList(text: string): string[] {
  const entries: string[] = [];
  let start = 0;
  let quoted = false;
  let angled = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angled = true;
    else if (c === '>') angled = false;
    else if (c === ',' && !angled) {
      entries.push(text.slice(start, i));
      start = i + 1;
    }
  }
  entries.push(text.slice(start));
  return entries.filter((entry) => entry.trim() !== '');
}

/**
 * How assignees group by team (see teams.ts), for the task's state, the Temporal UI and the CLI.
 * Pure and dependency-free: the task workflow uses it.
 */
export interface TeamMembers {
  name: string;
  /** Lower-case addresses. */
  members: string[];
}

/** The teams among these assignees, in order of first appearance, with their members. */
export function teamsOf(assignees: readonly { address: string; teams?: readonly string[] }[]): TeamMembers[] {
  const teams = new Map<string, string[]>();
  for (const { address, teams: names } of assignees) {
    for (const name of names ?? []) {
      const members = teams.get(name) ?? [];
      members.push(address);
      teams.set(name, members);
    }
  }
  return [...teams].map(([name, members]) => ({ name, members }));
}

/**
 * One line naming who is assigned, team by team, for summaries and the Temporal UI:
 * `team release-managers: alice@…, carol@…; dave@…`.
 */
export function describeAssignees<A extends { address: string; teams?: readonly string[] }>(
  assignees: readonly A[],
  label: (assignee: A) => string = (a) => a.address,
): string {
  const byAddress = new Map(assignees.map((a) => [a.address, a]));
  const groups = teamsOf(assignees).map(
    ({ name, members }) => `team ${name}: ${members.map((m) => label(byAddress.get(m)!)).join(', ')}`,
  );
  const direct = assignees.filter((a) => !a.teams?.length).map(label);
  return [...groups, ...(direct.length > 0 ? [direct.join(', ')] : [])].join('; ');
}

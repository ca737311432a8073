import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeAssignees, teamsOf } from '../../domain/assignee-teams';
import { resolveAssignees, type Teams } from '../../domain/teams';

const teams: Teams = {
  'release-managers': [{ address: 'alice@example.test' }, { address: 'carol@example.test', name: 'Carol' }],
  ops: [{ address: 'carol@example.test' }, { address: 'bob@other.test', name: 'Bob' }],
};

test('a team reference becomes its members, labelled with the team, mixable with addresses', () => {
  assert.deepEqual(resolveAssignees('team:release-managers, dave@example.test', teams), [
    { address: 'alice@example.test', name: undefined, teams: ['release-managers'] },
    { address: 'carol@example.test', name: 'Carol', teams: ['release-managers'] },
    { address: 'dave@example.test', name: undefined },
  ]);
  assert.deepEqual(
    resolveAssignees(['Dave <dave@example.test>', 'team:ops'], teams).map((a) => [
      a.address,
      a.name,
      a.teams,
    ]),
    [
      ['dave@example.test', 'Dave', undefined],
      ['carol@example.test', undefined, ['ops']],
      ['bob@other.test', 'Bob', ['ops']],
    ],
  );
});

test('an address named twice is one assignee, with every team that named it', () => {
  const resolved = resolveAssignees('team:release-managers,team:ops,Carol@Example.test,team:ops', teams);
  assert.deepEqual(
    resolved.map((a) => [a.address, a.teams]),
    [
      ['alice@example.test', ['release-managers']],
      ['carol@example.test', ['release-managers', 'ops']],
      ['bob@other.test', ['ops']],
    ],
  );
});

test('the TEAM: prefix in any case, spaces around entries', () => {
  assert.deepEqual(
    resolveAssignees(' Dave <dave@example.test> ,  TEAM:ops ', teams).map((a) => a.address),
    ['dave@example.test', 'carol@example.test', 'bob@other.test'],
  );
});

test('assignee objects keep their team labels (a reassign of a resolved list)', () => {
  const resolved = resolveAssignees('team:ops', teams);
  assert.deepEqual(resolveAssignees(resolved, {}), resolved);
});

test('unknown teams, bad team names and empty lists are clear errors', () => {
  const cases: [string, Teams, RegExp][] = [
    ['team:nobody', teams, /^unknown team "nobody": the configuration defines release-managers, ops$/],
    ['team:ops', {}, /^unknown team "ops": the configuration defines no teams \(add them under "teams:"\)$/],
    ['team:', teams, /^not a team name: "team:"$/],
    ['team:a b', teams, /^not a team name: "team:a b"$/],
    [' , ', teams, /^at least one assignee is required$/],
    ['team:ops, nope', teams, /not an email address: "nope"/],
    ['constructor', teams, /not an email address/],
  ];
  for (const [list, defined, message] of cases)
    assert.throws(() => resolveAssignees(list, defined), { message }, list);
  assert.throws(() => resolveAssignees('team:constructor', teams), { message: /unknown team "constructor"/ });
  assert.throws(() => resolveAssignees('team:__proto__', teams), { message: /not a team name/ });
});

test('teamsOf and describeAssignees group the assignees by team, then the others', () => {
  const resolved = resolveAssignees('team:release-managers, dave@example.test, team:ops', teams);
  assert.deepEqual(teamsOf(resolved), [
    { name: 'release-managers', members: ['alice@example.test', 'carol@example.test'] },
    { name: 'ops', members: ['carol@example.test', 'bob@other.test'] },
  ]);
  assert.equal(
    describeAssignees(resolved),
    'team release-managers: alice@example.test, carol@example.test; team ops: carol@example.test, bob@other.test; dave@example.test',
  );
  assert.equal(
    describeAssignees([{ address: 'a@x.test' }, { address: 'b@x.test' }], (a) => `${a.address} (sent)`),
    'a@x.test (sent), b@x.test (sent)',
  );
});

test('the list splitter stays linear on a long hostile list', () => {
  const list = `${'"a,<b>,'.repeat(100_000)}"`;
  assert.throws(() => resolveAssignees(list, teams), /not an email address/);
  const many = Array.from({ length: 5_000 }, (_, i) => `user${i}@example.test`).join(',');
  assert.equal(resolveAssignees(many, teams).length, 5_000);
});

/** What one run of the fault suite does; `short` runs inside `npm test`, `full` is `npm run test:faults`. */
export interface FaultProfile {
  name: 'short' | 'full';
  tasks: number;
  /** Worker SIGKILLs during the drain. */
  kills: number;
  /** Tasks started while Postfix is down; 0 leaves Postfix alone. */
  postfixDownTasks: number;
  dovecotRestart: boolean;
  wrongPassword: boolean;
  temporalRestart: boolean;
  sigterm: boolean;
}

const PROFILES: Record<FaultProfile['name'], FaultProfile> = {
  short: {
    name: 'short',
    tasks: 30,
    kills: 3,
    postfixDownTasks: 0,
    dovecotRestart: true,
    wrongPassword: false,
    temporalRestart: false,
    sigterm: true,
  },
  full: {
    name: 'full',
    tasks: 300,
    kills: 24,
    postfixDownTasks: 50,
    dovecotRestart: true,
    wrongPassword: true,
    temporalRestart: true,
    sigterm: true,
  },
};

function positiveInt(variable: string): number | undefined {
  const given = process.env[variable];
  if (given === undefined || given === '') return undefined;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${variable}: expected a positive integer, got "${given}"`);
  return n;
}

/**
 * FAULT_PROFILE=short|full (default short); FAULT_TASKS and FAULT_KILLS scale it down for
 * development (Postfix-down tasks follow the task count: a sixth of them).
 */
export function faultProfile(): FaultProfile {
  const name = process.env.FAULT_PROFILE || 'short';
  if (name !== 'short' && name !== 'full')
    throw new Error(`FAULT_PROFILE: expected "short" or "full", got "${name}"`);
  const profile = { ...PROFILES[name] };
  const tasks = positiveInt('FAULT_TASKS');
  if (tasks !== undefined) {
    profile.tasks = tasks;
    if (profile.postfixDownTasks > 0) profile.postfixDownTasks = Math.max(1, Math.round(tasks / 6));
  }
  profile.kills = positiveInt('FAULT_KILLS') ?? profile.kills;
  return profile;
}

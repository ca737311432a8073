/** The floor task's two activities: nothing but a count of the second, so the bench knows when all ran. */
export function createFloorActivities(onSecond: () => void) {
  return {
    first(): Promise<void> {
      return Promise.resolve();
    },
    second(): Promise<void> {
      onSecond();
      return Promise.resolve();
    },
  };
}

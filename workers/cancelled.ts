/** Thrown inside a task's loop once the task is cancelled: it unwinds to runTask, which reports 'cancelled'. */
export class Cancelled extends Error {}

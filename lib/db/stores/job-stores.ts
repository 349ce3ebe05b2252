import type { QueueDatabase } from '../queue-database';
import type { StatementRunner } from '../statement-runner';
import { AdminStore } from './admin-store';
import { ClaimStore } from './claim-store';
import { EventStore } from './event-store';
import { InsertStore } from './insert-store';
import { MaintenanceStore } from './maintenance-store';
import { OperationsStore } from './operations-store';
import { OutcomeStore } from './outcome-store';

/** The stores about jobs, one per concern, sharing the module's statement runner; schedules have their own. */
export class JobStores {
  readonly inserts: InsertStore;
  readonly claims: ClaimStore;
  readonly outcomes: OutcomeStore;
  readonly maintenance: MaintenanceStore;
  readonly admin: AdminStore;
  readonly operations: OperationsStore;
  readonly events: EventStore;

  constructor(db: QueueDatabase, statements: StatementRunner) {
    this.inserts = new InsertStore(db, statements);
    this.claims = new ClaimStore(db, statements);
    this.outcomes = new OutcomeStore(db, statements);
    this.maintenance = new MaintenanceStore(db, statements);
    this.admin = new AdminStore(db, statements);
    this.operations = new OperationsStore(db, statements);
    this.events = new EventStore(db, statements);
  }
}

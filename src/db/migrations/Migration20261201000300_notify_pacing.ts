import { Migration } from '@mikro-orm/migrations';

/**
 * Chat notifications at the vendors' limits (issue 13): per-route pacing and throttle state
 * shared by every replica (`notification_route_states`), every attempt kept on the delivery
 * (`attempt_log`), and the digest a delivery went out in (`digest_id`).
 */
export class Migration20261201000300_notify_pacing extends Migration {
  override up(): void {
    this.addSql(
      'alter table `notification_deliveries` add `attempt_log` json null, add `digest_id` bigint null',
    );
    this.addSql(
      'create table `notification_route_states` (`route_id` int unsigned not null, `recent_sends` json not null, `throttled_until` datetime(3) null, `throttle_reason` varchar(300) null, `permanent_failures` int not null default 0, `unhealthy_since` datetime(3) null, `last_permanent_error` varchar(1000) null, `version` int not null default 0, `updated_at` datetime(3) not null, primary key (`route_id`)) default character set utf8mb4 engine = InnoDB',
    );
  }

  override down(): void {
    this.addSql('drop table if exists `notification_route_states`');
    this.addSql(
      'alter table `notification_deliveries` drop column `attempt_log`, drop column `digest_id`',
    );
  }
}

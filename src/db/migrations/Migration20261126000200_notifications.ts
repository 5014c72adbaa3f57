import { Migration } from '@mikro-orm/migrations';

/** Chat notifications: routes (event filter → channel) and deliveries (one per event and route). */
export class Migration20261126000200_notifications extends Migration {
  override up(): void {
    this.addSql(
      "create table `notification_routes` (`id` int unsigned not null auto_increment primary key, `name` varchar(100) not null, `app` varchar(40) null, `env` varchar(40) null, `event_types` json not null, `channel` enum('DINGTALK', 'FEISHU', 'WECOM', 'SLACK', 'WEBHOOK') not null, `url` varchar(1000) not null, `secret` varchar(200) null, `enabled` tinyint(1) not null default true, `created_by` varchar(64) null, `created_at` datetime(3) not null, `updated_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql(
      'alter table `notification_routes` add index `notification_routes_app_index`(`app`)',
    );
    this.addSql(
      "create table `notification_deliveries` (`id` bigint unsigned not null auto_increment primary key, `event_id` varchar(20) not null, `route_id` int unsigned not null, `app` varchar(40) null, `event_type` varchar(40) not null, `event` json not null, `status` enum('PENDING', 'SENT', 'RETRYING', 'DEAD') not null, `attempts` int not null default 0, `last_error` varchar(1000) null, `next_attempt_at` datetime(3) null, `locked_until` datetime(3) null, `sent_at` datetime(3) null, `created_at` datetime(3) not null, `updated_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql(
      'alter table `notification_deliveries` add index `notification_deliveries_app_id_index`(`app`, `id`)',
    );
    this.addSql(
      'alter table `notification_deliveries` add index `notification_deliveries_route_id_id_index`(`route_id`, `id`)',
    );
    this.addSql(
      'alter table `notification_deliveries` add index `notification_deliveries_status_next_attempt_at_index`(`status`, `next_attempt_at`)',
    );
    this.addSql(
      'alter table `notification_deliveries` add unique `notification_deliveries_event_id_route_id_unique`(`event_id`, `route_id`)',
    );
  }

  override down(): void {
    this.addSql('drop table if exists `notification_deliveries`');
    this.addSql('drop table if exists `notification_routes`');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * Notification fixes: routes and deliveries belong to an app *id* (not a name a new app may
 * reuse), deliveries carry the claim token of the dispatcher sending them, and the notifier
 * keeps its place in the event sequence (`notifier_cursors`) to fill gaps the stream lost.
 */
export class Migration20261126000300_notify_fixes extends Migration {
  override up(): void {
    this.addSql('alter table `notification_routes` add `app_id` int unsigned null after `app`');
    this.addSql(
      'alter table `notification_routes` add index `notification_routes_app_id_index`(`app_id`)',
    );
    // Existing routes belong to the app that has their name now. Routes of apps already gone keep
    // app_id null and match nothing (a global route is one with app null). Reads the apps table only.
    this.addSql(
      'update `notification_routes` r join `apps` a on a.`name` = r.`app` set r.`app_id` = a.`id` where r.`app` is not null',
    );
    this.addSql(
      'alter table `notification_deliveries` add `app_id` int unsigned null after `app`, add `claim_token` varchar(32) null after `locked_until`',
    );
    this.addSql(
      'alter table `notification_deliveries` add index `notification_deliveries_app_id_id_index`(`app_id`, `id`)',
    );
    this.addSql(
      'update `notification_deliveries` d join `notification_routes` r on r.`id` = d.`route_id` set d.`app_id` = r.`app_id`',
    );
    this.addSql(
      'create table `notifier_cursors` (`group_name` varchar(64) not null, `last_event_id` bigint null, `history_up_to` bigint not null, `updated_at` datetime(3) not null, primary key (`group_name`)) default character set utf8mb4 engine = InnoDB',
    );
  }

  override down(): void {
    this.addSql('drop table if exists `notifier_cursors`');
    this.addSql(
      'alter table `notification_deliveries` drop index `notification_deliveries_app_id_id_index`, drop column `app_id`, drop column `claim_token`',
    );
    this.addSql(
      'alter table `notification_routes` drop index `notification_routes_app_id_index`, drop column `app_id`',
    );
  }
}

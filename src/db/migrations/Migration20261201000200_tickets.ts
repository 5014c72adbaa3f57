import { Migration } from '@mikro-orm/migrations';

/**
 * Approval tickets (release approvals, access requests). `app_id` and `release_id` carry no
 * foreign keys: tickets outlive their app, and the releases table comes in its own migration.
 */
export class Migration20261201000200_tickets extends Migration {
  override up(): void {
    this.addSql(
      "create table `tickets` (`id` int unsigned not null auto_increment primary key, `kind` enum('RELEASE_APPROVAL', 'ACCESS_REQUEST') not null, `status` enum('OPEN', 'APPROVED', 'REJECTED', 'EXPIRED', 'CANCELED') not null default 'OPEN', `app_id` int not null, `app` varchar(40) not null, `release_id` bigint null, `requester_id` int not null, `requester` varchar(64) not null, `role` enum('OWNER', 'DEVELOPER', 'VIEWER') null, `reason` text not null, `decided_by` varchar(64) null, `comment` text null, `created_at` datetime(3) not null, `decided_at` datetime(3) null, `expires_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql('alter table `tickets` add index `tickets_status_index`(`status`)');
    this.addSql('alter table `tickets` add index `tickets_app_id_index`(`app_id`)');
    this.addSql('alter table `tickets` add index `tickets_requester_id_index`(`requester_id`)');
    this.addSql('alter table `tickets` add index `tickets_release_id_index`(`release_id`)');
  }

  override down(): void {
    this.addSql('drop table if exists `tickets`');
  }
}

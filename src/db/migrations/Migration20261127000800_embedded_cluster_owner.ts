import { Migration } from '@mikro-orm/migrations';

/**
 * `embedded_cluster_owners`: the one process per database that runs the embedded simulated
 * clusters, with a heartbeat, so a second replica refuses to start its own (hardening item 8).
 */
export class Migration20261127000800_embedded_cluster_owner extends Migration {
  override up(): void {
    this.addSql(
      'create table `embedded_cluster_owners` (`id` int unsigned not null, `owner` varchar(200) not null, `host` varchar(255) not null, `pid` int not null, `started_at` datetime(3) not null, `heartbeat_at` datetime(3) not null, primary key (`id`)) default character set utf8mb4 engine = InnoDB',
    );
  }

  override down(): void {
    this.addSql('drop table if exists `embedded_cluster_owners`');
  }
}

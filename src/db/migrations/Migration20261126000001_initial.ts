import { Migration } from '@mikro-orm/migrations';

/** Users, API tokens, apps, members, environments and the platform-event outbox. */
export class Migration20261126000001_initial extends Migration {
  override up(): void {
    this.addSql(
      "create table `apps` (`id` int unsigned not null auto_increment primary key, `name` varchar(40) not null, `kind` enum('JAVA', 'NODE', 'GO', 'PYTHON', 'STATIC', 'OTHER') not null, `description` text not null default (''), `repository` varchar(500) not null default '', `build_command` text not null default (''), `start_command` text not null default (''), `stop_command` text not null default (''), `container` json not null, `release_config` json not null, `version` int not null default 1, `created_at` datetime(3) not null, `updated_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql('alter table `apps` add unique `apps_name_unique`(`name`)');
    this.addSql(
      'create table `environments` (`id` int unsigned not null auto_increment primary key, `name` varchar(40) not null, `requires_approval` tinyint(1) not null, `targets` json not null, `position` int not null default 0, `created_at` datetime(3) not null, `updated_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql('alter table `environments` add unique `environments_name_unique`(`name`)');
    this.addSql(
      'create table `platform_events` (`id` bigint unsigned not null auto_increment primary key, `type` varchar(40) not null, `at` datetime(3) not null, `actor` varchar(64) null, `app` varchar(40) null, `env` varchar(40) null, `payload` json not null, `published_at` datetime(3) null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql(
      'alter table `platform_events` add index `platform_events_app_id_index`(`app`, `id`)',
    );
    this.addSql(
      'alter table `platform_events` add index `platform_events_published_at_index`(`published_at`)',
    );
    this.addSql(
      "create table `users` (`id` int unsigned not null auto_increment primary key, `username` varchar(64) not null, `display_name` varchar(200) not null default '', `password_hash` varchar(255) null, `is_admin` tinyint(1) not null default false, `created_at` datetime(3) not null, `updated_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql('alter table `users` add unique `users_username_unique`(`username`)');
    this.addSql(
      "create table `app_members` (`id` int unsigned not null auto_increment primary key, `app_id` int unsigned not null, `user_id` int unsigned not null, `role` enum('OWNER', 'DEVELOPER', 'VIEWER') not null, `created_at` datetime(3) not null) default character set utf8mb4 engine = InnoDB",
    );
    this.addSql('alter table `app_members` add index `app_members_app_id_index`(`app_id`)');
    this.addSql('alter table `app_members` add index `app_members_user_id_index`(`user_id`)');
    this.addSql(
      'alter table `app_members` add unique `app_members_app_id_user_id_unique`(`app_id`, `user_id`)',
    );
    this.addSql(
      'create table `api_tokens` (`id` int unsigned not null auto_increment primary key, `user_id` int unsigned not null, `name` varchar(100) not null, `token_hash` varchar(64) not null, `scopes` json not null, `created_at` datetime(3) not null, `last_used_at` datetime(3) null, `revoked_at` datetime(3) null) default character set utf8mb4 engine = InnoDB',
    );
    this.addSql('alter table `api_tokens` add index `api_tokens_user_id_index`(`user_id`)');
    this.addSql('alter table `api_tokens` add unique `api_tokens_token_hash_unique`(`token_hash`)');
    this.addSql(
      'alter table `app_members` add constraint `app_members_app_id_foreign` foreign key (`app_id`) references `apps` (`id`) on update cascade on delete cascade',
    );
    this.addSql(
      'alter table `app_members` add constraint `app_members_user_id_foreign` foreign key (`user_id`) references `users` (`id`) on update cascade on delete cascade',
    );
    this.addSql(
      'alter table `api_tokens` add constraint `api_tokens_user_id_foreign` foreign key (`user_id`) references `users` (`id`) on update cascade on delete cascade',
    );
  }
}

DROP TABLE IF EXISTS rum_accounts_login_failures;

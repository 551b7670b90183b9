DROP TABLE administrators;
DROP TABLE notification_templates;
DROP TABLE endpoints;
DROP TABLE ddis;
DROP TABLE ddi_providers;
DROP TABLE carriers;
DROP TABLE clients;
DROP TABLE brands;

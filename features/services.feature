@epic:control-api @story:services @severity:normal
Feature: Services
  An external system lists the services LUCS knows, with their Ids, to find the one it works with
  (the configured service, `--lucs-service-id`). Only the Id is documented of a service.

  @smoke
  Scenario: The configured service is listed
    When I list the services
    Then the configured service is among them

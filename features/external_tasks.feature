@epic:control-api @story:external-tasks @severity:normal
Feature: Manage External Tasks
  An external system posts a task for a service, reads it back by the TaskId LUCS answered and by
  its own ExternalTaskId, and finds it among the service's tasks, as the LUCS use case "Manage
  External Tasks" documents it. The task prefers only the target user, so it is taken at once and
  closed after the scenario.

  Background:
    Given the target user is selectable in the service

  @smoke @changes-state
  Scenario: A posted task is read back by its TaskId and by its ExternalTaskId
    When I post an external task that prefers only the target user
    And I read the task by its TaskId
    Then the task read is the posted task
    When I read the task by its ExternalTaskId
    Then the task read is the posted task

  @changes-state
  Scenario: The service's tasks include the posted task
    Given an external task that prefers only the target user is posted
    When I list the tasks of the service
    Then the service's tasks include the posted task

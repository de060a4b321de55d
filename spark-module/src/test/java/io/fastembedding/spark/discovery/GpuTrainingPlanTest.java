package io.fastembedding.spark.discovery;

import static io.fastembedding.spark.discovery.GpuAmountCheckTest.assertContains;
import static io.fastembedding.spark.discovery.GpuAmountCheckTest.conf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.spark.discovery.StageLevelScheduling.Mode;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ExecutorResourceRequest;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.TaskResourceProfile;
import org.apache.spark.resource.TaskResourceRequest;
import org.junit.jupiter.api.Test;

/** Stage-level scheduling availability, the training profiles, and the plan that joins them. */
class GpuTrainingPlanTest {
  static final String SPARK = "4.2.0";

  static Mode mode(SparkConf c) {
    return StageLevelScheduling.availability(c, SPARK).mode();
  }

  @Test
  void availabilityFollowsMasterAndDynamicAllocation() {
    assertEquals(Mode.TASK_PROFILE, mode(conf("spark://h:7077")));
    assertEquals(Mode.TASK_PROFILE, mode(conf("local-cluster[2,1,1024]")));
    assertEquals(Mode.TASK_PROFILE, mode(conf("yarn")));
    assertEquals(Mode.TASK_PROFILE, mode(conf("k8s://https://api:6443")));
    assertEquals(Mode.EXECUTOR_PROFILE,
        mode(conf("yarn", "spark.dynamicAllocation.enabled", "true")));
    assertEquals(Mode.EXECUTOR_PROFILE,
        mode(conf("spark://h:7077", "spark.dynamicAllocation.enabled", "true")));
    assertEquals(Mode.UNAVAILABLE, mode(conf("local[4]")));
    assertEquals(Mode.UNAVAILABLE, mode(conf("local")));
    // Spark ignores dynamic allocation in local mode
    assertEquals(Mode.UNAVAILABLE, mode(conf("local[*]", "spark.dynamicAllocation.enabled", "true")));
    assertEquals(Mode.UNAVAILABLE, mode(conf("mesos://h:5050")));
    assertContains(StageLevelScheduling.availability(conf("local[2]"), SPARK).reason(),
        "local mode offers tasks no custom resources");
    assertContains(StageLevelScheduling.availability(conf("mesos://h:5050"), SPARK).reason(),
        "YARN, Kubernetes and standalone");
  }

  @Test
  void sparkBeforeFourHasNoTrustworthyTrainingProfile() {
    StageLevelScheduling.Availability a =
        StageLevelScheduling.availability(conf("spark://h:7077"), "3.5.1");
    assertFalse(a.available());
    assertContains(a.reason(), "Spark 3.5.1", "SPARK-45527");
    assertTrue(StageLevelScheduling.availability(conf("yarn"), "4.0.0-SNAPSHOT").available());
    assertThrows(IllegalArgumentException.class,
        () -> StageLevelScheduling.availability(conf("yarn"), "unknown"));
  }

  @Test
  void taskProfileAsksOneWholeGpuAndNoExecutors() {
    ResourceProfile p = TrainingResourceProfiles.taskProfile("gpu", 2);
    assertInstanceOf(TaskResourceProfile.class, p);
    Map<String, TaskResourceRequest> task = p.taskResourcesJMap();
    assertEquals(1.0, task.get("gpu").amount());
    assertEquals(2.0, task.get("cpus").amount());
    assertTrue(p.executorResourcesJMap().isEmpty());
  }

  @Test
  void executorProfileCarriesGpusCoresScriptAndVendor() {
    ResourceProfile p = TrainingResourceProfiles.executorProfile("gpu", 2, 8, 1,
        "/opt/getGpusResources.sh", "nvidia.com");
    assertFalse(p instanceof TaskResourceProfile);
    Map<String, ExecutorResourceRequest> ex = p.executorResourcesJMap();
    assertEquals(2, ex.get("gpu").amount());
    assertEquals("/opt/getGpusResources.sh", ex.get("gpu").discoveryScript());
    assertEquals("nvidia.com", ex.get("gpu").vendor());
    assertEquals(8, ex.get("cores").amount());
    assertFalse(ex.containsKey("memory"), "memory must follow the application's settings");
    assertEquals(1.0, p.taskResourcesJMap().get("gpu").amount());
    // cores 0: the application's default
    assertFalse(TrainingResourceProfiles.executorProfile("gpu", 1, 0, 1, "", "")
        .executorResourcesJMap().containsKey("cores"));
    assertContains(assertThrows(IllegalArgumentException.class,
        () -> TrainingResourceProfiles.executorProfile("gpu", 0, 4, 1, "", "")).getMessage(),
        "at least one 'gpu'");
    assertContains(assertThrows(IllegalArgumentException.class,
        () -> TrainingResourceProfiles.executorProfile("gpu", 1, 2, 4, "", "")).getMessage(),
        "executor cores (2) are fewer than the cores of one task (4)");
  }

  @Test
  void forTrainingReadsTheConf() {
    SparkConf c = conf("yarn", "spark.dynamicAllocation.enabled", "true",
        "spark.executor.resource.gpu.amount", "1",
        "spark.executor.resource.gpu.discoveryScript", "./getGpusResources.sh",
        "spark.executor.cores", "4", "spark.task.cpus", "2");
    ResourceProfile p = TrainingResourceProfiles.forTraining(c, "gpu", Mode.EXECUTOR_PROFILE);
    assertEquals(1, p.executorResourcesJMap().get("gpu").amount());
    assertEquals("./getGpusResources.sh", p.executorResourcesJMap().get("gpu").discoveryScript());
    assertEquals(4, p.executorResourcesJMap().get("cores").amount());
    assertEquals(2.0, p.taskResourcesJMap().get("cpus").amount());
    assertInstanceOf(TaskResourceProfile.class,
        TrainingResourceProfiles.forTraining(c, "gpu", Mode.TASK_PROFILE));
    assertContains(assertThrows(IllegalArgumentException.class, () -> TrainingResourceProfiles
        .forTraining(conf("yarn"), "gpu", Mode.TASK_PROFILE)).getMessage(),
        "spark.executor.resource.gpu.amount is not set");
    assertThrows(IllegalArgumentException.class,
        () -> TrainingResourceProfiles.forTraining(c, "gpu", Mode.UNAVAILABLE));
  }

  @Test
  void planGivesTrainingAProfileWhenTasksShareGpus() {
    GpuTrainingPlan plan = GpuTrainingPlan.decide(conf("spark://h:7077",
        "spark.executor.resource.gpu.amount", "1", "spark.task.resource.gpu.amount", "0.25",
        "spark.executor.cores", "8"), SPARK, "gpu", "auto");
    ResourceProfile p = plan.profile().orElseThrow();
    assertInstanceOf(TaskResourceProfile.class, p);
    assertEquals(1.0, p.taskResourcesJMap().get("gpu").amount());
    assertTrue(plan.warnings().isEmpty());
    assertContains(plan.description(), "one 'gpu' per task");
  }

  @Test
  void planGivesTrainingAProfileWhenOnlyExecutorsHaveGpus() {
    // the XGBoost pattern: ETL tasks take no GPU, training tasks take a whole one
    GpuTrainingPlan plan = GpuTrainingPlan.decide(conf("yarn",
        "spark.executor.resource.gpu.amount", "1"), SPARK, "gpu", "gpu");
    assertTrue(plan.profile().isPresent());
    // one training task per GPU: the memory plan gives it the executor's memory
    assertEquals(1, plan.trainingTasksPerExecutor().getAsInt());
    assertEquals(2, GpuTrainingPlan.decide(conf("yarn", "spark.executor.resource.gpu.amount", "2",
        "spark.task.resource.gpu.amount", "1"), SPARK, "gpu", "auto").trainingTasksPerExecutor()
        .getAsInt());
    assertTrue(GpuTrainingPlan.decide(conf("yarn", "spark.executor.resource.gpu.amount", "1"),
        SPARK, "gpu", "cpu").trainingTasksPerExecutor().isEmpty());
  }

  @Test
  void planLeavesWholeGpuTasksCpuAndLocalModeAlone() {
    assertTrue(GpuTrainingPlan.decide(conf("yarn", "spark.executor.resource.gpu.amount", "1",
        "spark.task.resource.gpu.amount", "1"), SPARK, "gpu", "auto").profile().isEmpty());
    assertTrue(GpuTrainingPlan.decide(conf("spark://h:7077", "spark.executor.resource.gpu.amount",
        "1", "spark.task.resource.gpu.amount", "0.25"), SPARK, "gpu", "cpu").profile().isEmpty());
    GpuTrainingPlan local = GpuTrainingPlan.decide(conf("local[4]"), SPARK, "gpu", "gpu");
    assertTrue(local.profile().isEmpty());
    assertContains(local.description(), "partition mod device count");
    GpuTrainingPlan localAuto = GpuTrainingPlan.decide(conf("local[2]"), SPARK, "gpu", "auto");
    if (io.fastembedding.backend.Backends.cudaDeviceCount() > 0) {
      assertContains(localAuto.description(), "partition mod device count");
    } else if (io.fastembedding.backend.Backends.cudaDriverMissing()) {
      // a CPU-only machine: one plain line, nothing about CUDA ordinals
      assertEquals("no NVIDIA driver: training on the CPU", localAuto.description());
    } else {
      assertContains(localAuto.description(), "training on the CPU");
    }
    GpuTrainingPlan noGpus = GpuTrainingPlan.decide(conf("yarn"), SPARK, "gpu", "auto");
    assertTrue(noGpus.profile().isEmpty());
    assertContains(noGpus.description(), "spark.executor.resource.gpu.amount is not set");
  }

  @Test
  void planRefusesSharingWhereNoProfileIsPossible() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GpuTrainingPlan.decide(conf("spark://h:7077", "spark.executor.resource.gpu.amount",
            "1", "spark.task.resource.gpu.amount", "0.5", "spark.executor.cores", "4"), "3.5.1",
            "gpu", "auto"));
    assertContains(e.getMessage(), "spark.task.resource.gpu.amount = 0.5 fits 2 tasks",
        "Spark 3.5.1 is older than 4.0", "set spark.task.resource.gpu.amount=1");
  }
}

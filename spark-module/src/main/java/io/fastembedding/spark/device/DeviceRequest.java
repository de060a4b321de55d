package io.fastembedding.spark.device;

import java.io.Serializable;

/**
 * What the driver tells every training task about device choice.
 *
 * @param device auto, cpu or gpu
 * @param resourceName the Spark task resource holding GPU addresses ("gpu" by default)
 * @param localMode whether tasks run in the driver JVM (local[N]), where Spark offers tasks no
 *     custom resources and the CUDA ordinal is chosen by partition instead
 */
public record DeviceRequest(String device, String resourceName, boolean localMode)
    implements Serializable {}
